"""Invented people and messages for the demo practice and the simulated channel (stdlib only).

Everything here is fiction: names are common given names and surnames put together at
random, phone numbers are in the 555-01XX block reserved for fiction (valid to
``phonenumbers``), emails are at example.com/example.org/example.net. The message
templates are written the way patients really write (slang, typos, filler words,
Spanish) so the real rules engine has something honest to tag; the intent a template
was written for is a hint for the generator's mix, never a label stored with it.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

# ---------------------------------------------------------------------------- people


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


FIRST_F_EN = _names(
    "Emma, Olivia, Ava, Sophia, Isabella, Mia, Charlotte, Amelia, Harper, Evelyn, Abigail, Emily, Ella, "
    "Grace, Chloe, Hannah, Lily, Zoe, Nora, Riley, Madison, Avery, Brooklyn, Leah, Claire, Audrey, "
    "Savannah, Paige, Jasmine, Kayla, Linda, Patricia, Barbara, Susan, Deborah, Karen, Nancy, Margaret, "
    "Dorothy, Janet, Brenda, Tamika, Keisha, Aaliyah, Mary-Kate, Anne-Marie, Siobhan, Renée, Zoë"
)
FIRST_M_EN = _names(
    "Liam, Noah, Oliver, Elijah, James, William, Benjamin, Lucas, Henry, Alexander, Mason, Ethan, Logan, "
    "Jackson, Aiden, Caleb, Owen, Wyatt, Dylan, Isaac, Nathan, Connor, Hunter, Tyler, Brandon, Jordan, "
    "Marcus, Darnell, Andre, Terrence, Robert, Michael, David, Richard, Thomas, Charles, Gary, Kenneth, "
    "Steven, Dale, Wayne, Gregory, Jean-Paul, Seán, Jean-Luc, DeShawn"
)
FIRST_F_ES = _names(
    "María, Sofía, Valentina, Camila, Isabella, Lucía, Ximena, Daniela, Gabriela, Mariana, Natalia, "
    "Paola, Adriana, Guadalupe, Rosa, Carmen, Alejandra, Verónica, Yesenia, Leticia, Ana-Lucía, Marisol, "
    "Beatriz, Inés"
)
FIRST_M_ES = _names(
    "José, Juan, Luis, Carlos, Miguel, Jorge, Alejandro, Diego, Santiago, Mateo, Sebastián, Emiliano, "
    "Javier, Héctor, Raúl, Fernando, Ricardo, Eduardo, Andrés, Jesús, Joaquín, Rubén, Iván, Óscar"
)
LAST_EN = _names(
    "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, Moore, "
    "Jackson, Martin, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young, Allen, King, "
    "Wright, Scott, Hill, Green, Adams, Baker, Nelson, Carter, Mitchell, Roberts, Turner, Phillips, "
    "Campbell, Parker, Evans, Edwards, Collins, Stewart, Morris, Murphy, Cook, Rogers, Morgan, Cooper, "
    "Peterson, Reed, Bailey, Bell, Kelly, Howard, Ward, Cox, Richardson, Wood, Watson, Brooks, Bennett, "
    "Gray, Hughes, Price, Sanders, Myers, Long, Ross, Foster, Kowalski, Nguyen, Patel, Kim, Chen, Okafor, "
    "Schmidt, O'Brien, O'Connor, D'Angelo, McAllister, Smith-Jones, Lloyd-Baker, Ferris, Dubois"
)
LAST_ES = _names(
    "García, Rodríguez, Martínez, Hernández, López, González, Pérez, Sánchez, Ramírez, Torres, Flores, "
    "Rivera, Gómez, Díaz, Cruz, Morales, Reyes, Gutiérrez, Ortiz, Ramos, Chávez, Mendoza, Ruiz, Álvarez, "
    "Castillo, Jiménez, Vásquez, Romero, Herrera, Medina, Aguilar, Vargas, Castro, Muñoz, Peña, Núñez, "
    "Ibáñez, García-López, De la Cruz"
)

AREA_CODES = ("212", "718", "917", "646", "347", "929", "516", "914")
PRACTICE_NAME = "Maple Street Family Medicine & Pediatrics"
PRACTICE_PHONE = "+12125550100"
PRACTICE_EMAIL = "frontdesk@maplestreet.example.org"
PORTAL_ADDRESS = "portal@maplestreet.example.org"
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
PROVIDERS = ("Dr. Ana Ramírez", "Dr. Michael Chen", "Dr. Priya Nair", "Jordan Lee, PA-C", "Nurse visit")
LOCATIONS = ("Maple St", "Eastside")


def ascii_slug(name: str) -> str:
    """``"José María O'Brien"`` -> ``"josemariaobrien"`` (for invented email addresses)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch == ".")


def fictional_phone(index: int) -> str:
    """The ``index``-th number of the fictional 555-0100…555-0199 blocks, in E.164."""
    area = AREA_CODES[(index // 100) % len(AREA_CODES)]
    return f"+1{area}55501{index % 100:02d}"


FICTIONAL_PHONE_CAPACITY = 100 * len(AREA_CODES)


# ---------------------------------------------------------------------------- slots

MEDS = (
    "lisinopril 10 mg",
    "metformin",
    "albuterol inhaler",
    "atorvastatin",
    "levothyroxine",
    "sertraline",
    "amlodipine",
    "Flovent",
    "my blood pressure pills",
    "omeprazole",
    "the Zyrtec",
    "losartan 50mg",
    "montelukast",
    "EpiPen 2-pack",
)
MEDS_ES = ("metformina", "la insulina", "losartán", "el inhalador", "las pastillas de la presión", "atorvastatina")
PHARMACIES = (
    "the Walgreens on Oak St",
    "CVS on Lexington",
    "Duane Reade on 3rd",
    "the Costco pharmacy",
    "Walmart on Atlantic Ave",
    "the Rite Aid by the park",
)
INSURERS = ("Blue Cross", "Aetna", "Cigna", "UnitedHealthcare", "Medicaid", "Humana", "Ambetter")
TESTS = ("blood work", "labs", "A1C", "strep test", "cholesterol results", "urine test", "x-ray", "TSH")
TESTS_ES = ("los análisis de sangre", "los resultados del laboratorio", "la prueba de azúcar", "la radiografía")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow", "next week", "Thursday afternoon")
DAYS_ES = ("el lunes", "el martes", "el miércoles", "el jueves", "el viernes", "mañana", "la próxima semana")
TIMES = ("8:40", "9:15", "10:30", "11:00", "1:20", "2:30", "3:45", "4:10")
AMOUNTS = ("$45", "$120.50", "$240", "$38.75", "$312", "$85", "$1,140")
DOCTORS = ("Dr. Ramirez", "Dr. Chen", "Dr. Nair", "Jordan", "the doctor", "Dr Ramírez")


# ---------------------------------------------------------------------------- templates
# Keys: (intent hint, lang, style). Styles: "text" (SMS/portal), "email" (subject | body),
# "voice" (a transcript). "{kid}"/"{rel}" appear only in templates for parents.

T: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("appointment.book", "en", "text"): (
        "Hi, can I get an appt with {doctor} {day}? Anytime after {time} works",
        "need to make an appointment for {kid}, school physical. any openings this week?",
        "Do you have anything {day} for a sick visit? {kid} has had an ear ache since last night",
        "hi this is {me}, I need to schedule my annual physical. mornings are best",
        "Can {kid} get in for the flu shot? both kids actually",
        "Is there any availability {day} morning? Need a follow up on my blood pressure",
        "can i book a telehealth visit? i think its just a sinus thing but its been 2 weeks",
        "I'd like to schedule a well child check for {kid}, she turns 4 next month",
    ),
    ("appointment.book", "es", "text"): (
        "Hola, quisiera hacer una cita para {kid} {day}, tiene tos desde hace días",
        "Buenas tardes, necesito una cita con {doctor} para mi chequeo anual",
        "hola necesito cita para las vacunas de la escuela de {kid}",
    ),
    ("appointment.book", "en", "email"): (
        "New appointment|Hello,\n\nI'd like to schedule a physical with {doctor}. I'm free {day} or any "
        "morning next week.\n\nThank you,\n{full}",
        "Appointment for {kid}|Hi,\n\n{kid} needs a sports physical before tryouts on the 15th. Do you have "
        "anything after school ({time} or later)?\n\nThanks!\n{me}",
        "Scheduling a follow-up|Good morning,\n\n{doctor} asked me to come back in 3 months to recheck my A1C. "
        "Could you put me on the schedule? Tuesdays and Thursdays are easiest for me.\n\nBest,\n{full}",
    ),
    ("appointment.book", "es", "email"): (
        "Cita|Hola,\n\nQuisiera una cita para {kid} con {doctor}. Podemos ir {day} después de las {time}.\n\n"
        "Gracias,\n{full}",
    ),
    ("appointment.book", "en", "voice"): (
        "Hi, um, this is {full}, I'm calling to, uh, make an appointment for my daughter, she needs her shots "
        "for kindergarten, so if somebody could call me back, thanks.",
        "Yeah hi, it's {me}, I need to get in to see {doctor}, uh, sometime {day} if possible, "
        "it's about my knee again. Okay, bye.",
    ),
    ("appointment.book", "es", "voice"): (
        "Hola, eh, habla {full}, quería hacer una cita para mi hijo {kid}, este, para un chequeo, "
        "por favor llámeme, gracias.",
    ),
    ("appointment.reschedule", "en", "text"): (
        "Need to reschedule my appt {day}, something came up at work",
        "R",
        "can we move {kid}'s appointment to later in the day? she has a test at school",
        "Hi it's {me}. I have to push my {time} appointment, do you have anything next week instead?",
        "need to reschedule pls 🙏",
    ),
    ("appointment.reschedule", "es", "text"): (
        "Hola, necesito cambiar la cita de {kid} para otro día, por favor",
        "Puedo cambiar mi cita del {day}? No puedo ir a esa hora",
    ),
    ("appointment.reschedule", "en", "email"): (
        "Reschedule request|Hi,\n\nI have an appointment {day} at {time} but I'm traveling for work that week. "
        "Could we move it to the following week?\n\nThank you,\n{full}",
    ),
    ("appointment.reschedule", "en", "voice"): (
        "Hey, this is {full}, um, I've got an appointment {day} at {time} and I need to, uh, move that, "
        "my car's in the shop. Call me back. Thanks.",
    ),
    ("appointment.cancel", "en", "text"): (
        "I need to cancel my appointment {day}, sorry",
        "can't make it tomorrow, please cancel. will call to rebook",
        "Please cancel {kid}'s appointment on {day}, she's feeling better",
    ),
    ("appointment.cancel", "es", "text"): ("Tengo que cancelar la cita de mañana, lo siento",),
    ("appointment.cancel", "en", "email"): (
        "Cancel appointment|Hello,\n\nPlease cancel my {time} appointment {day}. I'll call to reschedule when "
        "things calm down.\n\n{full}",
    ),
    ("appointment.cancel", "en", "voice"): (
        "Hi, it's, uh, {full}, I'm calling to cancel my appointment for {day}, um, I'll call back to "
        "reschedule, okay, bye.",
    ),
    ("appointment.confirm", "en", "text"): ("C", "Yes", "confirm", "👍", "Y", "Yes I'll be there", "C thanks"),
    ("appointment.confirm", "es", "text"): ("Sí, confirmo", "C", "Sí ahí estaremos"),
    ("refill", "en", "text"): (
        "need a refill on {med} please, sending to {pharmacy}",
        "Hi can you call in my {med}? down to 3 pills",
        "rx refill for {med} pls. thx",
        "{kid} needs a refill on her albuterol inhaler, school nurse says it's almost empty",
        "Can I get a 90 day supply of {med} this time? insurance wants 90 days",
        "the pharmacy says they faxed you for my {med} refill 2 days ago, any update?",
    ),
    ("refill", "es", "text"): (
        "Hola, necesito resurtir {med_es}, a la farmacia de siempre",
        "Buenos días, me puede mandar la receta de {med_es}? ya casi no tengo",
    ),
    ("refill", "en", "email"): (
        "Prescription refill|Hi,\n\nCould you please send a refill for {med} to {pharmacy}? I have about a week "
        "left.\n\nThanks,\n{full}",
        "Refill request - {full}|Hello,\n\nI'm requesting refills for {med} and my allergy medication. Same "
        "pharmacy as last time.\n\nDOB on file. Thank you!",
    ),
    ("refill", "en", "voice"): (
        "Hi, um, this is {full}, I need a refill on my, uh, {med}, the pharmacy is {pharmacy}, thank you.",
        "Yeah, hi, calling for a refill, um, {med}, I'm almost out, so, uh, please call it in. Thanks.",
    ),
    ("refill", "es", "voice"): (
        "Hola, buenas, eh, habla {full}, necesito que me manden {med_es} a la farmacia, por favor, gracias.",
    ),
    ("billing", "en", "text"): (
        "Got a bill for {amount} for {kid}'s visit. I thought well child visits were covered?",
        "how do i pay my bill online? the link in the letter doesn't work",
        "Why was I charged {amount}? I already paid the copay at the visit",
        "can i set up a payment plan for my balance",
    ),
    ("billing", "es", "text"): ("Hola, me llegó una factura de {amount}, puedo pagar en partes?",),
    ("billing", "en", "email"): (
        "Question about my statement|Hello,\n\nI received a statement for {amount} for a visit on the 3rd. "
        "I believe this was billed to the wrong plan. Could someone in billing take a look?\n\nRegards,\n{full}",
        "Balance|Hi,\n\nI'd like to pay off my balance but the portal shows {amount} and my paper statement "
        "shows something different. Which one is right?\n\nThanks,\n{me}",
    ),
    ("billing", "en", "voice"): (
        "Hi, um, this is {full}, uh, calling about a bill I got in the mail, it says I owe {amount} but I "
        "thought that was covered, so, uh, if billing could call me back, thanks.",
    ),
    ("insurance", "en", "text"): (
        "Do you take {insurer}? We're switching plans in January",
        "I have new insurance, can I send a pic of the card?",
        "my insurance changed to {insurer}, do you need the new card before {kid}'s visit?",
        "Is Dr. Chen in network with {insurer}?",
    ),
    ("insurance", "es", "text"): ("Aceptan {insurer}? Tengo seguro nuevo desde este mes",),
    ("insurance", "en", "email"): (
        "Updated insurance|Hello,\n\nOur insurance changed to {insurer} as of the 1st. Member ID and group number "
        "are on the card attached to my portal account. Please update our file for me and the kids.\n\n{full}",
    ),
    ("results", "en", "text"): (
        "Are my {test} results back yet?",
        "hi did {doctor} look at my {test}? haven't heard anything",
        "Any news on {kid}'s strep test?",
        "I saw my {test} results in the portal but don't understand what high means, can someone explain",
    ),
    ("results", "es", "text"): ("Hola, ya están {test_es}? Nadie me ha llamado",),
    ("results", "en", "email"): (
        "Lab results|Hi,\n\nI had {test} drawn last {day} and haven't received the results. Could someone let me "
        "know if everything looked okay?\n\nThank you,\n{full}",
    ),
    ("results", "en", "voice"): (
        "Hi, um, it's {full}, I'm just calling to see if my, uh, {test} came back, you can leave a message "
        "on this number, thanks.",
    ),
    ("records", "en", "text"): (
        "Can I get a copy of {kid}'s shot records for school?",
        "i need my records sent to my new cardiologist, what's the fax form",
        "does the school form need to be signed by the doctor? its the sports one",
    ),
    ("records", "es", "text"): ("Necesito la cartilla de vacunas de {kid} para la escuela",),
    ("records", "en", "email"): (
        "Medical records request|Hello,\n\nI'm moving out of state and need a copy of my medical records. "
        "What's the process and is there a fee?\n\nThanks,\n{full}",
        "Immunization record|Hi,\n\nCould you email or upload {kid}'s immunization record to the portal? The "
        "daycare needs it by Friday.\n\n{me}",
    ),
    ("clinical", "en", "text"): (
        "{kid} has had a cough for a week, no fever. should we come in or just wait it out?",
        "is it ok to take ibuprofen with {med}?",
        "rash on my arm since yesterday, not itchy, should I worry",
        "should I stop the antibiotic if the rash is better? still have 4 days left",
        "{kid} threw up twice last night, keeping water down now. anything we should watch for?",
        "my blood pressure was 150/95 this morning at home, is that too high",
        "quick question - can {kid} go back to daycare 24h after starting amoxicillin?",
    ),
    ("clinical", "es", "text"): (
        "Hola, {kid} tiene tos y mocos desde hace 5 días, sin fiebre. Lo llevo o esperamos?",
        "Puedo tomar ibuprofeno con {med_es}?",
    ),
    ("clinical", "en", "email"): (
        "Question after my visit|Hi {doctor},\n\nSince starting {med} I've felt a bit dizzy when I stand up "
        "quickly. It's not terrible. Is this normal or should I change the dose?\n\nThanks,\n{full}",
        "Follow-up on {kid}|Hello,\n\n{kid}'s ear infection seems better but she's still pulling at her ear at "
        "night. She finishes the antibiotic tomorrow. Should we come back for a recheck?\n\n{me}",
    ),
    ("clinical", "en", "voice"): (
        "Hi, um, this is {full}, I had a question about, uh, my medication, I've been getting headaches since "
        "the new dose, so if a nurse could call me back that'd be great, thanks.",
    ),
    ("clinical", "es", "voice"): (
        "Hola, eh, habla {full}, tengo una pregunta sobre la medicina de {kid}, este, le salió un poco de "
        "sarpullido, por favor que me llame la enfermera, gracias.",
    ),
    ("urgent", "en", "text"): (
        "{kid} has a fever of 103.4 and won't stop crying, tylenol isn't bringing it down",
        "My 2 month old has a temp of 100.6, is that ok??",
        "out of my insulin today and pharmacy says the rx expired, what do I do",
        "hives all over after the new antibiotic, no trouble breathing, should I keep taking it?",
        "my cut from friday is red and hot and now there's pus, can someone see me today",
    ),
    ("urgent", "es", "text"): ("{kid} tiene fiebre de 103 desde anoche y no baja con el Tylenol",),
    ("urgent", "en", "voice"): (
        "Hi, um, this is {full}, my son has a fever of, uh, 104 and he's really sleepy, I don't know if I "
        "should bring him in today, please call me back as soon as you can.",
    ),
    ("general", "en", "text"): (
        "what time do you open on saturday?",
        "thanks so much for fitting us in today!! 😊",
        "is there parking at the Eastside office?",
        "Do you have the covid boosters in yet?",
        "Thank you Dr Chen, feeling much better",
    ),
    ("general", "es", "text"): ("Gracias por todo, {doctor} es muy amable 🙏", "A qué hora abren el sábado?"),
    ("general", "en", "email"): (
        "Thank you|Hi,\n\nJust wanted to say thank you to the nurses for being so patient with {kid} during "
        "his shots. He talked about the stickers all day.\n\n{full}",
    ),
    ("consent.opt_out", "en", "text"): ("STOP", "Stop", "please stop texting me, use email instead"),
    ("consent.opt_out", "es", "text"): ("ALTO", "por favor ya no me manden mensajes"),
    ("emergency", "en", "text"): (
        "my husband has chest pain and his left arm is numb, what do we do",
        "cant breathe after a bee sting, lips swelling",
        "my dad's face is drooping on one side and his speech is slurred",
        "{kid} swallowed a bunch of my pills I don't know how many",
    ),
    ("emergency", "es", "text"): ("Mi papá tiene dolor de pecho muy fuerte y no puede respirar bien",),
    ("emergency", "en", "voice"): (
        "Hi, um, this is {full}, I'm having, uh, really bad chest pressure right now and I'm sweating a lot, "
        "I don't know if I should, um, please call me back.",
    ),
    ("emergency", "en", "email"): (
        "Appointment + question|Hi,\n\nCan I move my appointment to next week? Also, I've had crushing chest "
        "pain since this morning that goes into my jaw. Is that something to worry about?\n\n{full}",
    ),
}

UNKNOWN_TEXTS: dict[str, tuple[str, ...]] = {
    "en": (
        "Hi, are you accepting new patients? We just moved to the area",
        "Do you take {insurer}? Looking for a pediatrician for my newborn",
        "Hello, I'm a new patient with an appointment next week, where do I park?",
        "Do you do sports physicals for kids who aren't patients yet?",
    ),
    "es": (
        "Hola, aceptan pacientes nuevos? Busco doctor para mis hijos",
        "Buenas, ¿tienen pediatra que hable español?",
    ),
}
UNKNOWN_PHONE_ONLY: tuple[str, ...] = (
    "wrong number sorry",
    "who is this? got a missed call from this number",
    "This is Walgreens pharmacy, we sent a refill request for a patient of Dr. Chen, please respond via fax",
    "Hi this is the school nurse at Lincoln Elementary, calling about a student form",
)

# A few messages that test the console's handling of patient text that looks like markup.
ODDBALL_TEXTS: tuple[str, ...] = (
    "[b]URGENT[/b] need my refill pls 🙏🙏",
    "<script>alert('hi')</script> lol my son typed that. can I get a copy of his shot records?",
    "[red]is this thing on?[/red] need to reschedule thursday",
    "Running 10 min late!! 🚗💨 sorry",
    "thx 👍😷 see u tmrw",
)


# ---------------------------------------------------------------------------- composing


@dataclass(frozen=True, slots=True)
class Sender:
    """Who is writing: a name for signatures and, for parents, one of their children."""

    first: str
    last: str
    kid: str | None = None
    kid_is_girl: bool = False

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


def style_of(channel: str) -> str:
    """Template style for a channel value (``sms``, ``email``, ``voicemail``, ``portal``)."""
    return {"email": "email", "voicemail": "voice"}.get(channel, "text")


def _fill(text: str, rng: random.Random, who: Sender) -> str:
    slots = {
        "me": who.first,
        "full": who.full,
        "kid": who.kid or "my son",
        "doctor": rng.choice(DOCTORS),
        "day": rng.choice(DAYS),
        "time": rng.choice(TIMES),
        "med": rng.choice(MEDS),
        "med_es": rng.choice(MEDS_ES),
        "pharmacy": rng.choice(PHARMACIES),
        "amount": rng.choice(AMOUNTS),
        "insurer": rng.choice(INSURERS),
        "test": rng.choice(TESTS),
        "test_es": rng.choice(TESTS_ES),
    }
    out = text.format(**slots)
    if who.kid and not who.kid_is_girl:
        out = out.replace(" she ", " he ").replace(" her ", " his ").replace("She ", "He ")
    return out


def templates_for(intent: str, lang: str, style: str, *, has_kid: bool) -> tuple[str, ...]:
    """Templates for (intent, lang, style), falling back to the text style and then to English."""
    for key in ((intent, lang, style), (intent, lang, "text"), (intent, "en", style), (intent, "en", "text")):
        found = T.get(key)
        if found:
            usable = tuple(t for t in found if has_kid or "{kid}" not in t)
            if usable:
                return usable
    return T[("general", "en", "text")]


def compose(rng: random.Random, intent: str, lang: str, channel: str, who: Sender) -> tuple[str | None, str]:
    """A (subject, body) pair for ``channel``; the subject is set for email only."""
    style = style_of(channel)
    options = templates_for(intent, lang, style, has_kid=who.kid is not None)
    raw = rng.choice(options)
    if "|" in raw and style == "email":
        subject, body = raw.split("|", 1)
        return _fill(subject, rng, who), _fill(body, rng, who)
    body = raw.split("|", 1)[1] if "|" in raw else raw
    body = _fill(body, rng, who)
    if style == "email":
        hello, thanks = ("Hola,", "Gracias,") if lang == "es" else ("Hello,", "Thanks,")
        return _email_subject(intent, lang), f"{hello}\n\n{body}\n\n{thanks}\n{who.full}"
    if style == "voice" and "um" not in body:
        body = f"Hi, um, this is {who.full}. {body} Uh, thanks, bye."
    return None, body


def _email_subject(intent: str, lang: str) -> str:
    if lang == "es":
        return "Pregunta"
    return {
        "refill": "Refill",
        "billing": "Billing question",
        "insurance": "Insurance",
        "results": "Test results",
        "records": "Records",
        "clinical": "Question for the nurse",
        "urgent": "Please call me",
    }.get(intent, "Question")


def compose_unknown(rng: random.Random, lang: str, channel: str = "sms") -> str:
    """A message from someone the practice does not know (``channel``: sms, voicemail or email)."""
    options = UNKNOWN_TEXTS[lang] + (UNKNOWN_PHONE_ONLY if lang == "en" and channel != "email" else ())
    body = _fill(rng.choice(options), rng, Sender("Pat", "Doe"))
    if channel == "voicemail":
        body = (
            ("Hola, eh, " if lang == "es" else "Hi, um, ")
            + body[0].lower()
            + body[1:]
            + (" Gracias." if lang == "es" else " Okay, thanks, bye.")
        )
    return body


def quote_reply(rng: random.Random, who: Sender, email: str, earlier_body: str, when: str, follow_up: str) -> str:
    """A follow-up email that quotes the earlier one (``On … wrote:`` or an Outlook header)."""
    if rng.random() < 0.7:
        quoted = "\n".join(f"> {line}" if line else ">" for line in earlier_body.splitlines())
        return f"{follow_up}\n\n{who.first}\n\nOn {when}, {who.full} <{email}> wrote:\n{quoted}\n"
    return (
        f"{follow_up}\n\n{who.first}\n\n-----Original Message-----\nFrom: {who.full} <{email}>\n"
        f"Sent: {when}\nTo: {PRACTICE_EMAIL}\n\n{earlier_body}\n"
    )


FOLLOW_UPS = {
    "en": (
        "Just following up on the message below - haven't heard back yet.",
        "Hi again, any update on this?",
        "Sorry to bother you again, can someone get back to me on this?",
    ),
    "es": ("Hola de nuevo, ¿alguna novedad sobre esto?",),
}

# Short replies that only make sense as a text message (reminder replies, carrier keywords).
SMS_ONLY_INTENTS = frozenset({"appointment.confirm", "consent.opt_out"})

# Intent mix for believable traffic (weights; "urgent"/"emergency" are urgency hints).
INTENT_MIX: tuple[tuple[str, float], ...] = (
    ("appointment.book", 15),
    ("appointment.reschedule", 8),
    ("appointment.cancel", 5),
    ("appointment.confirm", 8),
    ("refill", 14),
    ("billing", 8),
    ("insurance", 6),
    ("results", 8),
    ("records", 5),
    ("clinical", 12),
    ("urgent", 3),
    ("general", 6),
    ("consent.opt_out", 1),
)
_INTENTS, _WEIGHTS = zip(*INTENT_MIX, strict=True)


def pick_intent(rng: random.Random) -> str:
    """One intent hint drawn from :data:`INTENT_MIX`."""
    return rng.choices(_INTENTS, _WEIGHTS)[0]
