#!/usr/bin/env python3
"""Write a leads CSV for the import benchmark (issue 13) to standard output.

    bench/gen_leads.py ROWS [--seed N] [--repeat-of FILE --repeat-every K]

Deterministic for a seed. Columns are the ones a CRM export has (first and last name, e-mail,
phone, company, website, title, city, country, source, employees); every e-mail is unique
within a file. With --repeat-of, every K-th row takes the e-mail of a row of FILE (the
existing data the import's duplicate check must find).
"""
import argparse
import csv
import random
import sys

FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances",
         "John", "Katherine", "Tim", "Radia", "Edsger", "Donald", "Hedy", "Niklaus", "Anita",
         "Bjarne", "Guido", "Sophie", "Yukihiro", "Shafi", "Leslie", "Whitfield", "Adele"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
        "Allen", "McCarthy", "Johnson", "Berners-Lee", "Perlman", "Dijkstra", "Knuth", "Lamarr",
        "Wirth", "Borg", "Stroustrup", "van Rossum", "Wilson", "Matsumoto", "Goldwasser",
        "Lamport", "Diffie", "Goldberg"]
COMPANY = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
           "Tyrell", "Cyberdyne", "Soylent", "Aperture", "Vandelay", "Pied Piper", "Massive"]
SUFFIX = ["Inc", "Ltd", "GmbH", "LLC", "Pvt Ltd", "SA", ""]
CITY = [("Berlin", "DE"), ("London", "GB"), ("Paris", "FR"), ("Austin", "US"), ("Pune", "IN"),
        ("Madrid", "ES"), ("Toronto", "CA"), ("Sydney", "AU"), ("Vienna", "AT"), ("Zurich", "CH")]
SOURCE = ["web", "referral", "event", "cold_call", "partner", "advertisement"]
TITLE = ["CEO", "CTO", "Head of Sales", "Buyer", "Engineer", "Office Manager", ""]

HEADER = ["First Name", "Last Name", "Email", "Phone", "Company", "Website", "Title", "City",
          "Country", "Lead Source", "Employees"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("rows", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat-of")
    p.add_argument("--repeat-every", type=int, default=100)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    repeats = []
    if a.repeat_of:
        with open(a.repeat_of, newline="", encoding="utf-8") as f:
            repeats = [row[2] for row in list(csv.reader(f))[1:]]
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(HEADER)
    for i in range(a.rows):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        company = rnd.choice(COMPANY)
        suffix = rnd.choice(SUFFIX)
        slug = company.lower().replace(" ", "")
        domain = f"{slug}{i % 997}.example"
        if repeats and i % a.repeat_every == 0:
            email = repeats[(i // a.repeat_every) % len(repeats)]
        else:
            email = f"{first.lower()}.{last.lower().replace(' ', '')}.{a.seed}.{i}@{domain}"
        city, country = rnd.choice(CITY)
        phone = f"+1 {201 + a.seed % 700:03d} {200 + i // 10000:03d} {i % 10000:04d}"
        out.writerow([first, last, email, phone, f"{company} {suffix}".strip(),
                      f"https://www.{domain}", rnd.choice(TITLE), city, country,
                      rnd.choice(SOURCE), rnd.randint(1, 5000)])


if __name__ == "__main__":
    main()
