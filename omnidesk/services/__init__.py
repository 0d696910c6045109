"""Use cases: the only API the console and the command line call."""
