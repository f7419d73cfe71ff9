"""Fixed reference lists the generator embeds so it works without ../shared/reference-data.

The STRIDE commitments and 2011 Census force populations are copies of the real published files (a
test checks they still equal them); the business areas and the actions against each IOPC
recommendation are written for the sample.
"""

from __future__ import annotations

# The 16 STRIDE commitments: (commitment_id, theme, commitment). Source: stride-commitments.csv.
STRIDE_COMMITMENTS: tuple[tuple[int, str, str], ...] = (
    (1, "Protection", "We will confront those who cause pain and fear through hate crime."),
    (2, "Protection", "We will work proactively with communities to reduce violence by building trust."),
    (3, "Protection", "We will work with partners to reduce criminal victimisation of those who are most disadvantaged."),
    (4, "Protection", "We will work with partners to increase opportunities to divert people away from offending."),
    (5, "Engagement", "We will ensure that every ward has a ward panel which people can engage with online."),
    (6, "Engagement", "We will transform our two way communication with the public."),
    (7, "Engagement", "We will engage with, understand and celebrate all of London's communities."),
    (8, "Engagement", "We will make more relevant equalities information available to all."),
    (9, "Equality", "We will work with communities and partners to achieve our recruitment, retention and progression aspirations for those from under-represented groups."),
    (10, "Equality", "We will work to ensure that our people feel included and that they are treated with fairness and respect."),
    (11, "Equality", "We will continue to reduce disproportionality in our internal processes."),
    (12, "Equality", "We will improve the inclusion and confidence of our Disabled officers and staff members."),
    (13, "Learning", "We will develop a generation of inclusive leaders."),
    (14, "Learning", "We will improve our response to complaints from the public."),
    (15, "Learning", "We will make community engagement central in our use of powers."),
    (16, "Learning", "We will increase transparency and understanding of our use of powers."),
)

# Senior lead per commitment: a role, never a name.
STRIDE_LEADS: dict[int, str] = {
    1: "Commander, Public Protection",
    2: "AC Frontline Policing",
    3: "Commander, Partnerships and Prevention",
    4: "Commander, Criminal Justice",
    5: "Commander, Neighbourhood Policing",
    6: "Director of Media and Communications",
    7: "Commander, Community Engagement",
    8: "Director of Strategy and Governance",
    9: "Chief People Officer",
    10: "Director of Diversity and Inclusion",
    11: "Director of Professional Standards",
    12: "Director of Diversity and Inclusion",
    13: "Director of Learning and Development",
    14: "Commander, Professional Standards",
    15: "DAC Met Operations",
    16: "Chief Data Officer",
}

# The actions the force set itself against each recommendation (1-4 each), with the lead role.
IOPC_ACTIONS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("Director of Professional Standards", (
        "Commission a force-wide staff survey on bullying and harassment",
        "Analyse grievance and misconduct data for hotspots by business area",
    )),
    2: ("Director of Professional Standards", (
        "Assign grievances about bullying and harassment to assessors outside the line of command",
        "Recruit and train a pool of independent grievance assessors",
        "Monitor the share of grievances with an independent assessor each month",
    )),
    3: ("Chief People Officer", (
        "Publish grievance outcomes by protected characteristic every quarter",
        "Share disclosure-controlled grievance tables with staff associations for review",
        "Send every business area SPOC a monthly grievance dashboard",
    )),
    4: ("Director of Media and Communications", (
        "Publish a zero-tolerance statement on bullying and harassment",
        "Embed zero-tolerance messaging in induction and leadership training",
    )),
    5: ("Director of Learning and Development", (
        "Refresh social media guidance on private messaging and the Code of Ethics",
        "Deliver social media and Code of Ethics training to all officers and staff",
    )),
    6: ("Director of Learning and Development", (
        "Add guidance on banter and hostile environments to mandatory training",
    )),
    7: ("Director of Diversity and Inclusion", (
        "Publish an anti-racism commitment with measurable actions",
        "Report progress on the Macpherson recommendations to the Management Board",
        "Track misconduct referral disproportionality at every decision point",
    )),
    8: ("Director of Diversity and Inclusion", (
        "Publish a zero-tolerance commitment on sexism and misogyny",
        "Review policy and supervisor training on sexism and misogyny",
    )),
    9: ("Director of Professional Standards", (
        "Introduce a victim-centred process for internal reports of sexual harassment",
        "Give complainants regular updates on the progress of their case",
    )),
    10: ("Director of Learning and Development", (
        "Review training on the duty to report and challenge improper conduct",
        "Set up confidential support for officers and staff who report wrongdoing",
    )),
    11: ("Director of Professional Standards", (
        "Record the reasons an officer failed to report or challenge improper conduct",
        "Feed failure-to-report learning into training twice a year",
    )),
    12: ("Chief People Officer", (
        "Assess stress and trauma risk in frontline roles in busy areas",
        "Apply psychological risk management guidance to high-risk roles",
    )),
    13: ("AC Frontline Policing", (
        "Set supervision ratios for foundation training (1 sergeant to 90 recruits)",
        "Review welfare checks for officers working in isolated roles",
    )),
    14: ("AC Frontline Policing", (
        "Introduce quality assurance for roles with little measurable output",
        "Set team sizes of about 20 with 2 sergeants and an inspector over 6 teams",
    )),
    15: ("Chief People Officer", (
        "Publish revised acting-up guidance requiring a recorded rationale",
        "Report acting-up decisions by protected characteristic to the Management Board",
        "Audit acting-up decisions without a recorded rationale",
        "Train selectors to balance business need with equality and diversity",
    )),
}

# (force name as in the census file, 3-letter code prefix, 2011 Census usual residents by broad
# ethnic group: White, Black, Asian, Chinese, Mixed, Other). Source: census-2011-population-by-police-force-area.csv.
CENSUS_FORCES: tuple[tuple[str, str, tuple[int, int, int, int, int, int]], ...] = (
    ("Avon & Somerset", "AVS", (1491970, 30923, 33005, 8976, 28277, 6404)),
    ("Bedfordshire", "BED", (476647, 29725, 81480, 3806, 18456, 4947)),
    ("Cambridgeshire", "CAM", (726531, 10174, 39535, 7595, 16029, 4977)),
    ("Cheshire", "CHE", (995998, 3264, 12794, 3217, 10423, 2013)),
    ("City of London", "COL", (5799, 193, 677, 263, 289, 154)),
    ("Cleveland", "CLE", (526456, 3156, 17419, 2154, 5762, 2280)),
    ("Cumbria", "CUM", (492257, 579, 2913, 1153, 2504, 452)),
    ("Derbyshire", "DER", (949845, 10090, 36871, 3019, 14351, 4262)),
    ("Devon & Cornwall", "DEV", (1627306, 4106, 11694, 5711, 15645, 3756)),
    ("Dorset", "DOR", (714637, 3208, 10694, 3481, 9507, 2514)),
    ("Durham", "DUR", (605364, 1058, 5114, 1947, 4240, 1083)),
    ("Dyfed-Powys", "DYF", (504714, 856, 4274, 996, 3262, 1012)),
    ("Essex", "ESS", (1608308, 34679, 38954, 8273, 27635, 7101)),
    ("Gloucestershire", "GLO", (569647, 5150, 10522, 1911, 8661, 1093)),
    ("Greater Manchester", "GMP", (2248123, 74097, 246094, 26079, 60710, 27425)),
    ("Gwent", "GWE", (554377, 3185, 10076, 1618, 5547, 1951)),
    ("Hampshire", "HAM", (1771378, 17445, 57352, 11884, 30905, 9027)),
    ("Hertfordshire", "HER", (977495, 31401, 64119, 8462, 27497, 7088)),
    ("Humberside", "HUM", (885279, 4499, 12191, 3919, 8185, 3574)),
    ("Kent", "KEN", (1607681, 22879, 54186, 7043, 27283, 8593)),
    ("Lancashire", "LAN", (1320035, 5377, 108784, 6046, 16300, 4351)),
    ("Leicestershire", "LEI", (797704, 24623, 155740, 7872, 20520, 11238)),
    ("Lincolnshire", "LIN", (696484, 2561, 5579, 1737, 6190, 1102)),
    ("Merseyside", "MER", (1305303, 14552, 18851, 11554, 20954, 9975)),
    ("Metropolitan", "MET", (4881636, 1088447, 1386619, 123987, 404990, 280887)),
    ("Norfolk", "NOR", (828018, 4609, 9809, 3208, 10027, 2217)),
    ("North Wales", "NWA", (670704, 1497, 6336, 2529, 4950, 1921)),
    ("North Yorkshire", "NYO", (769206, 3618, 9914, 4182, 7456, 2051)),
    ("Northamptonshire", "NTH", (632822, 16923, 22581, 2846, 14182, 2598)),
    ("Northumbria", "NUM", (1343747, 9006, 37782, 10183, 12447, 7688)),
    ("Nottinghamshire", "NOT", (969501, 27287, 48248, 8930, 30981, 6535)),
    ("South Wales", "SWA", (1198458, 12738, 35804, 8495, 17762, 10394)),
    ("South Yorkshire", "SYO", (1217653, 25752, 54660, 9551, 20791, 15194)),
    ("Staffordshire", "STA", (1032327, 8551, 35148, 3950, 14095, 3426)),
    ("Suffolk", "SUF", (693195, 6854, 10972, 2159, 12472, 2511)),
    ("Surrey", "SUR", (1023682, 12430, 54037, 9461, 23554, 9226)),
    ("Sussex", "SUS", (1505433, 14246, 40865, 7890, 30036, 8462)),
    ("Thames Valley", "TVP", (1919646, 69013, 192541, 16783, 55986, 15803)),
    ("Warwickshire", "WAR", (505688, 4443, 22747, 2349, 7949, 2298)),
    ("West Mercia", "WME", (1176516, 5062, 21715, 3545, 13466, 2112)),
    ("West Midlands", "WMI", (1919138, 164069, 493551, 21430, 96204, 42068)),
    ("West Yorkshire", "WYO", (1819818, 46476, 280764, 10783, 48126, 20091)),
    ("Wiltshire", "WIL", (642869, 6089, 17379, 2164, 9794, 1842)),
)

MET_FORCE_NAME = "Metropolitan Police Service"

# Met-like business areas: (code, name, area_type, relative size of officers, staff, PCSOs,
# specials, misconduct-referral factor). The 12 BCUs are the real MPS BCU names.
MET_AREAS: tuple[tuple[str, str, str, float, float, float, float, float], ...] = (
    ("CE", "Central East", "BCU", 2100, 220, 100, 120, 1.2),
    ("CN", "Central North", "BCU", 2000, 210, 100, 120, 1.2),
    ("AS", "Central South", "BCU", 2100, 220, 100, 120, 1.2),
    ("AW", "Central West", "BCU", 2200, 230, 100, 130, 1.2),
    ("EA", "East Area", "BCU", 2200, 230, 110, 140, 1.2),
    ("NA", "North Area", "BCU", 1900, 200, 100, 130, 1.2),
    ("NE", "North East", "BCU", 2000, 210, 100, 130, 1.2),
    ("NW", "North West", "BCU", 2000, 210, 100, 130, 1.2),
    ("SN", "South Area", "BCU", 1800, 190, 90, 120, 1.2),
    ("SE", "South East", "BCU", 2000, 210, 100, 130, 1.2),
    ("SW", "South West", "BCU", 1800, 190, 90, 120, 1.2),
    ("WA", "West Area", "BCU", 1900, 200, 100, 130, 1.2),
    ("CTC", "Counter Terrorism Command", "OCU", 1400, 500, 0, 0, 0.8),
    ("RASP", "Royal and Specialist Protection", "OCU", 900, 80, 0, 0, 0.9),
    ("PADP", "Parliamentary and Diplomatic Protection", "OCU", 800, 60, 0, 0, 1.0),
    ("RTPC", "Roads and Transport Policing", "OCU", 1700, 300, 60, 60, 1.3),
    ("TF", "Taskforce", "OCU", 900, 60, 0, 30, 1.4),
    ("POPS", "Public Order", "OCU", 500, 60, 0, 0, 1.3),
    ("MO19", "Specialist Firearms Command", "OCU", 700, 50, 0, 0, 1.3),
    ("SCMC", "Specialist Crime - Homicide and Major Crime", "OCU", 1300, 250, 0, 0, 0.9),
    ("SCOC", "Specialist Crime - Organised Crime", "OCU", 900, 200, 0, 0, 1.0),
    ("PUBP", "Public Protection", "OCU", 1100, 250, 0, 0, 0.9),
    ("METCC", "Met Command and Control", "OCU", 500, 900, 0, 0, 0.8),
    ("AVIA", "Aviation Policing", "OCU", 450, 50, 30, 0, 1.0),
    ("MARN", "Marine and Dog Support", "OCU", 250, 30, 0, 0, 1.0),
    ("CJ", "Criminal Justice", "OCU", 350, 600, 0, 0, 0.8),
    ("MDET", "Met Detention", "OCU", 400, 550, 0, 0, 1.2),
    ("FRNS", "Forensic Services", "OCU", 80, 650, 0, 0, 0.7),
    ("DPS", "Professional Standards", "OCU", 500, 250, 0, 0, 0.7),
    ("MI", "Met Intelligence", "OCU", 600, 700, 0, 0, 0.8),
    ("PTRN", "People and Training", "HQ", 400, 1100, 10, 20, 0.6),
    ("DIGI", "Digital Policing", "HQ", 50, 900, 0, 0, 0.6),
    ("FIN", "Finance", "HQ", 10, 300, 0, 0, 0.6),
    ("COMM", "Commercial Services", "HQ", 10, 250, 0, 0, 0.6),
    ("PROP", "Property Services", "HQ", 10, 300, 0, 0, 0.6),
    ("MEDC", "Media and Communications", "HQ", 10, 150, 0, 0, 0.6),
    ("STRG", "Strategy and Governance", "HQ", 60, 250, 0, 0, 0.6),
    ("LEGL", "Legal Services", "HQ", 10, 150, 0, 0, 0.6),
    ("FLHQ", "Frontline Policing Headquarters", "HQ", 250, 250, 0, 0, 0.7),
    ("DIVS", "Diversity and Inclusion", "HQ", 20, 60, 0, 0, 0.6),
)
