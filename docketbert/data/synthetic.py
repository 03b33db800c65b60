"""A generator of realistic *synthetic* US federal court docket entries (PACER / CM/ECF style).

The real docket data cannot be shipped with the project, so the demo (and anyone without
``../shared/data``) uses this built-in corpus instead. Everything here is invented: the texts come
from templates with slots, and every name, firm, court number, fee, receipt and date is drawn at
random. No real entry, name or case number is copied.

The corpus mimics what matters for pretraining and for the downstream tasks:

* a mix of civil (~50%), criminal (~20%) and bankruptcy (~30%) dockets of 5–60 entries each, whose
  entries follow a plausible course (complaint → appearances → motions → orders → judgment;
  indictment → initial appearance → plea → sentencing; petition → 341 meeting → discharge);
* entry numbers that increase within a docket (with the odd gap) and filing dates that never go back;
* orders, responses and certificates that cite *earlier* entries of the same docket in the usual
  CM/ECF ways ("granting 12 Motion", "re [7] Complaint", "(RE: related document(s)8 Meeting ...)",
  "(Related Doc # 44)"); :func:`find_references` extracts them;
* lengths mostly 10–120 words with a long tail to a few hundred (long text orders, indictments with
  count lists, fee applications), signatures such as "(abc) (Entered: 01/05/2009)";
* the warts of real bulk data: ~1% exact duplicate boilerplate ("Meeting of Creditors Held and
  Concluded."), HTML entities (``&amp;``) in some courts, a few multi-line and a few empty
  descriptions.

Output is a CourtListener bulk-data style ``docket-entries`` CSV (every field quoted, as
PostgreSQL ``COPY ... WITH (FORMAT csv, HEADER, FORCE_QUOTE *)`` writes it)::

    python -m docketbert.synthetic synthetic.csv.gz --dockets 2000 --seed 0

Generation is deterministic for a seed, and docket ``i`` depends only on ``(seed, i)``: the first
``n`` dockets of a larger corpus are the corpus of ``n`` dockets.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import datetime as dt
import gzip
import io
import random
import re
import sys
from pathlib import Path
from typing import Callable, Iterator, Optional

__all__ = ["CSV_COLUMNS", "REFERENCE_RE", "find_references", "generate_entries", "write_courtlistener_csv",
           "iter_csv_rows", "main"]

CSV_COLUMNS = ("id", "date_created", "date_modified", "date_filed", "entry_number", "recap_sequence_number",
               "pacer_sequence_number", "description", "docket_id")

# The ways the generated texts cite an earlier entry of the same docket. Group 1 holds one number or a
# comma-separated list of numbers ("(related document(s) 75, 76)").
REFERENCE_RE = re.compile(
    r"(?:\b(?:granting|denying|terminating|mooting|finding as moot|adopting|striking)(?: in part)?|\bre:?|\bRe:"
    r"|\(RE: related document\(s\)|\(related document\(s\):?|\(Related Doc #|\bDoc\. No\.)"
    r"\s*\[?(\d+(?:\]?,\s*\[?\d+)*)\]?"
)


def find_references(text: str) -> list[int]:
    """Entry numbers that `text` cites, in the citation styles this generator writes."""
    out: list[int] = []
    for m in REFERENCE_RE.finditer(text):
        out.extend(int(n) for n in re.findall(r"\d+", m.group(1)))
    return out


# ----------------------------------------------------------------------------------------------------
# Word pools. Common given names and surnames, and made-up firm/company words: combinations are random.
# ----------------------------------------------------------------------------------------------------
FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa "
    "George Deborah Timothy Stephanie Ronald Rebecca Edward Sharon Jason Laura Jeffrey Cynthia Ryan Kathleen Jacob "
    "Amy Gary Angela Nicholas Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry Emma Justin Nicole Scott Helen "
    "Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Frank Carolyn Patrick Janet "
    "Raymond Catherine Jack Maria Dennis Heather Jerry Diane Tyler Ruth Aaron Julie Jose Olivia Adam Joyce Nathan "
    "Virginia Henry Victoria Douglas Kelly Zachary Lauren Peter Christina Kyle Joan Walter Evelyn Ethan Judith "
    "Jeremy Megan Harold Andrea Keith Cheryl Christian Hannah Roger Jacqueline Noah Martha Gerald Gloria Carl Teresa "
    "Terry Ann Sean Sara Austin Madison Arthur Frances Lawrence Kathryn Jesse Janice Dylan Jean Bryan Abigail Joe "
    "Alice Jordan Judy Billy Sophia Bruce Grace Albert Denise Willie Amber Gabriel Doris Logan Marilyn Alan Danielle "
    "Juan Beverly Wayne Isabella Elijah Theresa Randy Diana Roy Natalie Vincent Brittany Ralph Charlotte Eugene Marie "
    "Russell Kayla Bobby Alexis Mason Lori Philip Luis Miguel Carlos Rosa Elena Ahmed Wei Priya Tariq Mei Ivan Olga"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson "
    "Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris "
    "Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward "
    "Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel "
    "Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes "
    "Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace "
    "Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall "
    "Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman "
    "Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes "
    "Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson "
    "Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen "
    "Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado "
    "Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval "
    "Okafor Nakamura Kowalski Schwartz Novak Lindqvist Abernathy Whitfield Thornton Blackwell Ashford Pruitt Stroud"
).split()
SUFFIX = ("", "", "", "", "", "", "", "", "", "", " Jr.", " Sr.", " III", " II")
CO_A = ("North", "South", "East", "West", "Pacific", "Atlantic", "Great Lakes", "Summit", "Pinnacle", "Liberty",
        "Keystone", "Heritage", "Frontier", "Evergreen", "Sterling", "Granite", "Silver Creek", "Blue Ridge",
        "Red Rock", "Harbor", "Meridian", "Cardinal", "Cedar", "Oak Valley", "Prairie", "Coastal", "Union",
        "Lakeshore", "Ironwood", "Riverbend", "Crescent", "Falcon", "Beacon", "Redwood", "Highland", "Tri-County",
        "Allied", "Premier", "National", "American", "Continental", "Sunbelt", "Midland", "Northstar", "Bayside")
CO_B = ("Logistics", "Holdings", "Capital", "Financial", "Manufacturing", "Healthcare", "Properties", "Realty",
        "Construction", "Energy", "Insurance", "Transport", "Foods", "Technologies", "Systems", "Industries",
        "Services", "Partners", "Development", "Supply", "Mortgage", "Auto Group", "Pharmaceuticals", "Media",
        "Security", "Steel", "Farms", "Hospitality", "Telecom", "Solutions", "Bancorp", "Credit Union", "Lending")
CO_SUF = (", Inc.", ", LLC", ", L.L.C.", " Corp.", " Corporation", " Co.", " Company", ", LP", ", Ltd.", " Inc.", ", P.C.")
BANKS = ("{a} Bank, N.A.", "{a} Savings Bank", "{a} Federal Credit Union", "{a} Auto Finance LLC",
         "{a} Mortgage Servicing, LLC", "{a} Card Services", "{a} Acceptance Corporation", "{a} Recovery Associates",
         "{a} Portfolio Recovery, LLC", "{a} Capital Funding, Inc.", "{a} Home Loans, Inc.")
AGENCIES = ("Internal Revenue Service", "Department of the Treasury", "Social Security Administration",
            "Department of Labor", "Secretary of Homeland Security", "Federal Bureau of Prisons",
            "Department of Veterans Affairs", "Commissioner of Social Security", "Department of Education")
CITIES = ("Springfield", "Riverside", "Fairview", "Franklin", "Greenville", "Clinton", "Madison", "Georgetown",
          "Salem", "Bristol", "Dover", "Oxford", "Ashland", "Milton", "Newport", "Burlington", "Manchester",
          "Lexington", "Auburn", "Hudson", "Marion", "Jackson", "Centerville", "Kingston", "Arlington")
STREETS = ("Main Street", "Oak Avenue", "Maple Drive", "Elm Street", "Washington Boulevard", "Park Lane",
           "Cedar Court", "Lakeview Road", "Hillcrest Drive", "River Road", "Sunset Boulevard", "Pine Street")

# Courts: (code, kind). Codes are generic "xxd"/"xxb" style; the text never names the court.
_STATES = ("al", "ak", "az", "ar", "ca", "co", "ct", "de", "fl", "ga", "hi", "id", "il", "in", "ia", "ks", "ky",
           "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny", "nc", "nd",
           "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa", "wv", "wi", "wy")

# Exact boilerplate: identical text in many dockets, as in real bulk data (~1% of rows in all).
BOILERPLATE = {
    "bankruptcy": ("Meeting of Creditors Held and Concluded.", "Meeting of Creditors Held",
                   "Debtor(s) Appeared at 341 Meeting.", "Chapter 7 Trustee's Report of No Distribution.",
                   "Financial Management Course Certificate Not Filed.", "Bankruptcy Case Closed.",
                   "Receipt of Filing Fee for Voluntary Petition (Chapter 7).", "Clerk's Evidence of Repossession.",
                   "Statement Adjourning Meeting of Creditors.", "Debtor Discharged.", "Trustee's Final Report."),
    "civil": ("Case Designated ECF.", "Magistrate Judge consent form sent.", "Civil Case Terminated.",
              "Set/Reset Deadlines", "CASE REFERRED to Mediation.", "Pro Se Case.", "Summons Returned Unexecuted.",
              "NOTICE OF DEFICIENCY", "Clerk's Notice of Filing Error."),
    "criminal": ("Arrest Warrant Issued.", "CJA 23 Financial Affidavit.", "Waiver of Speedy Trial.",
                 "Sealed Document", "Case unsealed.", "Attorney update in case.", "Set/Reset Hearings"),
}

MOTION_KINDS_CIVIL = (
    ("MOTION to Dismiss for Failure to State a Claim", "Motion to Dismiss for Failure to State a Claim"),
    ("MOTION to Dismiss for Lack of Jurisdiction", "Motion to Dismiss for Lack of Jurisdiction"),
    ("MOTION to Dismiss", "Motion to Dismiss"),
    ("MOTION for Summary Judgment", "Motion for Summary Judgment"),
    ("MOTION for Partial Summary Judgment", "Motion for Partial Summary Judgment"),
    ("MOTION to Compel Discovery", "Motion to Compel"),
    ("MOTION for Protective Order", "Motion for Protective Order"),
    ("MOTION to Stay", "Motion to Stay"),
    ("MOTION to Amend/Correct Complaint", "Motion to Amend/Correct"),
    ("MOTION for Leave to File Excess Pages", "Motion for Leave to File Excess Pages"),
    ("MOTION to Seal Document", "Motion to Seal Document"),
    ("MOTION to Remand to State Court", "Motion to Remand"),
    ("MOTION to Transfer Case", "Motion to Transfer Case"),
    ("MOTION for Default Judgment", "Motion for Default Judgment"),
    ("MOTION in Limine", "Motion in Limine"),
    ("MOTION to Withdraw as Attorney", "Motion to Withdraw as Attorney"),
    ("MOTION for Leave to Appear Pro Hac Vice", "Motion for Leave to Appear Pro Hac Vice"),
    ("MOTION for Attorney Fees", "Motion for Attorney Fees"),
    ("MOTION for Preliminary Injunction", "Motion for Preliminary Injunction"),
    ("MOTION to Strike", "Motion to Strike"),
)
MOTION_KINDS_CRIM = (
    ("MOTION to Continue Trial", "Motion to Continue"),
    ("MOTION to Suppress Evidence", "Motion to Suppress"),
    ("MOTION for Discovery", "Motion for Discovery"),
    ("MOTION for Bond", "Motion for Bond"),
    ("MOTION to Dismiss Indictment", "Motion to Dismiss"),
    ("MOTION for Downward Departure", "Motion for Downward Departure"),
    ("MOTION to Seal", "Motion to Seal"),
    ("MOTION for Extension of Time to File Pretrial Motions", "Motion for Extension of Time to File"),
    ("MOTION to Modify Conditions of Release", "Motion to Modify Conditions of Release"),
    ("MOTION for Early Termination of Supervised Release", "Motion for Early Termination"),
)
MOTION_KINDS_BK = (
    ("Motion for Relief from Stay", "Motion for Relief From Stay"),
    ("Motion to Extend Automatic Stay", "Motion to Extend Automatic Stay"),
    ("Motion to Avoid Lien", "Motion to Avoid Lien"),
    ("Motion to Dismiss Case for Failure to Make Plan Payments", "Motion to Dismiss Case"),
    ("Motion to Sell Property Free and Clear of Liens", "Motion to Sell"),
    ("Motion to Extend Time to File Schedules", "Motion to Extend Time"),
    ("Motion to Value Collateral", "Motion to Value Collateral"),
    ("Motion to Convert Case to Chapter 7", "Motion to Convert Case"),
    ("Motion to Reopen Case", "Motion to Reopen Case"),
    ("Motion to Approve Compromise under Rule 9019", "Motion to Approve Compromise"),
    ("Motion to Pay Filing Fee in Installments", "Motion to Pay"),
)

# Sentences for the bodies of text orders and minute entries (the long tail of the length distribution).
ORDER_SENTENCES = (
    "The Court has reviewed the motion, the response in opposition, and the reply, and finds that oral argument "
    "is not necessary.",
    "For the reasons stated on the record, the motion is GRANTED in part and DENIED in part.",
    "The parties shall meet and confer in good faith and file a joint status report within {n} days.",
    "Failure to comply with this Order may result in sanctions, including dismissal of this action without "
    "further notice.",
    "Plaintiff has not shown a likelihood of success on the merits, and the balance of hardships does not tip "
    "in Plaintiff's favor.",
    "Defendant's request for a hearing is DENIED as moot.",
    "The Clerk of Court is directed to terminate the pending motion and to mail a copy of this Order to the "
    "pro se party at the address of record.",
    "Any response shall not exceed {n} pages, exclusive of exhibits.",
    "The complaint fails to allege facts sufficient to state a plausible claim for relief under Rule 12(b)(6) "
    "of the Federal Rules of Civil Procedure.",
    "Leave to amend is granted; any amended complaint shall be filed on or before {d}.",
    "The Court finds that the ends of justice served by granting the continuance outweigh the best interest of "
    "the public and the defendant in a speedy trial, and the time from {d} through {d2} is excluded under "
    "18 U.S.C. § 3161(h)(7)(A).",
    "Discovery shall be completed by {d}, and dispositive motions shall be filed no later than {d2}.",
    "The parties are reminded that the Local Rules require a certificate of conference on all non-dispositive "
    "motions.",
    "Counsel are directed to appear in person; telephonic appearances will not be permitted absent leave of "
    "Court.",
    "This Order resolves docket entries filed by both parties, and no further briefing will be accepted.",
    "The motion is supported by good cause, is unopposed, and will not unduly delay the proceedings.",
    "The settlement conference will be conducted in chambers, and each party shall have a representative with "
    "full settlement authority present.",
    "IT IS FURTHER ORDERED that the stay shall remain in effect pending resolution of the related appeal.",
    "Having considered the record as a whole, the Court concludes that there is no genuine dispute as to any "
    "material fact and the movant is entitled to judgment as a matter of law.",
    "The deadline to file a joint proposed pretrial order is extended to {d}.",
    "Plaintiff is WARNED that failure to keep the Court apprised of a current address may result in dismissal "
    "for failure to prosecute.",
    "All other deadlines in the Scheduling Order remain in effect.",
    "The Court will rule on the remaining objections at the final pretrial conference.",
    "Because the amount in controversy is not established by a preponderance of the evidence, the Court lacks "
    "subject matter jurisdiction.",
)


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
MODIFIED = ("to correct docket text", "to edit filer", "to add attachment", "to correct filing date",
            "to link to related document", "TO CLARIFY DOCKET TEXT", "to reflect correct event")


class _Docket:
    """The parties, the court's habits, and the running state of one synthetic docket."""

    def __init__(self, rng: random.Random, kind: str):
        self.rng = rng
        self.kind = kind
        r = rng.random
        st = rng.choice(_STATES)
        self.court = st + ("b" if kind == "bankruptcy" else "d")
        # court style
        self.ref_style = rng.choice(("plain", "plain", "plain", "bracket"))
        self.entered = r() < 0.85
        self.amp_escape = r() < 0.25
        self.clerks = [self._initials() for _ in range(rng.randint(2, 5))]
        self.clerk_comma = r() < 0.3
        self.judge = self.person()
        self.judge_title = "Judge"
        self.magistrate = self.person()
        self.entries: list[tuple[int, str, str]] = []  # (number, kind, short label)
        self.pending: list[tuple[int, str, str]] = []  # open motions: (number, short label, movant)
        self.num = 0
        self.date = dt.date(2003, 1, 1) + dt.timedelta(days=rng.randrange(19 * 365))
        self.closed = False
        self.seen: set[str] = set()  # kinds of the entries so far
        self.movant = "Debtor"  # who filed the last motion

    # ---- names -------------------------------------------------------------------------------------
    def person(self, middle: Optional[bool] = None, suffix: bool = False) -> str:
        rng = self.rng
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if middle is None:
            middle = rng.random() < 0.6
        mid = f" {rng.choice('ABCDEFGHJKLMNPRSTW')}." if middle else ""
        suf = rng.choice(SUFFIX) if suffix else ""
        return f"{first}{mid} {last}{suf}"

    def company(self) -> str:
        rng = self.rng
        x = rng.random()
        if x < 0.2:
            return f"{rng.choice(LAST)} & {rng.choice(LAST)}{rng.choice(CO_SUF)}"
        if x < 0.35:
            return rng.choice(BANKS).format(a=rng.choice(CO_A))
        if x < 0.45:
            return f"{rng.choice(LAST)} {rng.choice(CO_B)}{rng.choice(CO_SUF)}"
        return f"{rng.choice(CO_A)} {rng.choice(CO_B)}{rng.choice(CO_SUF)}"

    def party(self, company_p: float = 0.4) -> str:
        return self.company() if self.rng.random() < company_p else self.person(suffix=True)

    def firm(self) -> str:
        rng = self.rng
        a, b = rng.choice(LAST), rng.choice(LAST)
        return rng.choice((f"{a} & {b} LLP", f"{a}, {b} & {rng.choice(LAST)}, P.A.", f"{a} {b} PLLC",
                           f"Law Offices of {rng.choice(FIRST)} {a}", f"{a} & Associates, P.C.", f"{a} Law Group"))

    def attorney(self) -> tuple[str, str]:
        """(full name, filer signature "Last, First")."""
        rng = self.rng
        first, last = rng.choice(FIRST), rng.choice(LAST)
        mid = f" {rng.choice('ABCDEFGHJKLMNPRSTW')}." if rng.random() < 0.5 else ""
        return f"{first}{mid} {last}", f"{last}, {first}"

    def _initials(self) -> str:
        rng = self.rng
        k = rng.choice((2, 3, 3, 3, 4))
        s = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(k))
        return s.upper() if rng.random() < 0.15 else s

    # ---- text pieces --------------------------------------------------------------------------------
    def clerk_sig(self) -> str:
        c = self.rng.choice(self.clerks)
        return f"({c}, )" if self.clerk_comma else f"({c})"

    def ref(self, n: int) -> str:
        return f"[{n}]" if self.ref_style == "bracket" else str(n)

    @staticmethod
    def mdy(d: dt.date) -> str:
        return f"{d.month}/{d.day}/{d.year}"

    @staticmethod
    def mmddyyyy(d: dt.date) -> str:
        return f"{d.month:02d}/{d.day:02d}/{d.year}"

    def future(self, lo: int = 7, hi: int = 90) -> dt.date:
        return self.date + dt.timedelta(days=self.rng.randint(lo, hi))

    def time(self) -> str:
        rng = self.rng
        h = rng.choice((9, 9, 10, 10, 11, 1, 1, 2, 2, 3, 4))
        return f"{h:02d}:{rng.choice(('00', '00', '30', '15', '45'))} {'AM' if h >= 8 and h < 12 else 'PM'}"

    def courtroom(self) -> str:
        rng = self.rng
        return rng.choice((f"Courtroom {rng.randint(1, 28)}{rng.choice(('', 'A', 'B', 'C'))}",
                           f"Courtroom {rng.randint(101, 960)}", f"{rng.choice(('2nd', '3rd', '4th', '7th'))} Floor "
                           f"Courtroom, {rng.choice(CITIES)}"))

    def attachments(self, labels: tuple[str, ...] = ()) -> str:
        rng = self.rng
        pool = labels or ("Exhibit A", "Exhibit B", "Exhibit C", "Exhibit 1", "Exhibit 2", "Proposed Order",
                          "Certificate of Service", "Affidavit", "Declaration", "Text of Proposed Order",
                          "Memorandum in Support", "Index of Exhibits", "Supplement")
        k = min(len(pool), 1 + int(rng.expovariate(0.8)))
        items = rng.sample(pool, k)
        return "(Attachments: " + ", ".join(f"# {i} {x}" for i, x in enumerate(items, 1)) + ")"

    def order_body(self, k: int) -> str:
        rng = self.rng
        out = []
        for s in rng.sample(ORDER_SENTENCES, min(k, len(ORDER_SENTENCES))):
            if "{" in s:
                d = self.future(14, 120)
                s = s.format(n=rng.choice((7, 10, 14, 21, 30)), d=self.mdy(d),
                             d2=self.mdy(d + dt.timedelta(days=rng.randint(14, 90))))
            out.append(s)
        return " ".join(out)

    def long_k(self) -> int:
        """Sentences in a text order: usually 0–2, sometimes many."""
        x = self.rng.random()
        if x < 0.4:
            return 0
        if x < 0.75:
            return self.rng.randint(1, 2)
        if x < 0.94:
            return self.rng.randint(3, 6)
        return self.rng.randint(7, 25)

    def cite_label(self, kinds: tuple[str, ...]) -> Optional[tuple[int, str]]:
        cands = [(n, lab) for n, k, lab in self.entries if k in kinds]
        if not cands:
            return None
        # prefer recent entries
        return cands[-1 - min(len(cands) - 1, int(self.rng.expovariate(0.7)))]


# ----------------------------------------------------------------------------------------------------
# Civil dockets
# ----------------------------------------------------------------------------------------------------
def _civil(d: _Docket, n_entries: int) -> Iterator[tuple[str, str, str]]:
    """Yields (kind, short label, text) for each entry; the caller numbers and dates them."""
    rng = d.rng
    plaintiffs = [d.party(0.35) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    defendants = [d.party(0.6) for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]
    if rng.random() < 0.1:
        defendants[0] = "United States of America" if rng.random() < 0.5 else rng.choice(AGENCIES)
    p_att = [d.attorney() for _ in range(rng.randint(1, 3))]
    d_att = [d.attorney() for _ in range(rng.randint(1, 4))]
    pl, df = ", ".join(plaintiffs), ", ".join(defendants)
    removed = rng.random() < 0.2
    side = lambda: (plaintiffs, p_att) if rng.random() < 0.45 else (defendants, d_att)  # noqa: E731

    a_name, a_sig = p_att[0]
    fee = rng.choice(("350", "350", "400", "402", "405"))
    rcpt = f"{rng.choice(('', 'A', '0'))}{rng.randint(10**8, 10**10 - 1)}"
    if removed:
        a_name, a_sig = d_att[0]
        txt = (f"NOTICE OF REMOVAL from {rng.choice(CITIES)} County Circuit Court, case number "
               f"{rng.randint(10, 24)}-CV-{rng.randint(100, 99999)}. ( Filing fee $ {fee} receipt number {rcpt}), "
               f"filed by {df}. {d.attachments(('Exhibit A - State Court Complaint', 'Civil Cover Sheet', 'Exhibit B - Summons', 'Notice to State Court', 'Corporate Disclosure Statement'))}"
               f"({a_sig})")
        yield "complaint", "Notice of Removal", txt
    else:
        jury = " with Jury Demand" if rng.random() < 0.5 else ""
        what = rng.choice(("", "", " for Declaratory Judgment", " for Damages", " for Breach of Contract",
                           " for Violation of Civil Rights", " for Patent Infringement", " (CLASS ACTION)"))
        att = " " + d.attachments(("Civil Cover Sheet", "Exhibit A", "Exhibit B", "Summons", "Summons",
                                   "Exhibit C", "Proposed Summons")) if rng.random() < 0.7 else ""
        txt = (f"COMPLAINT{what}{jury} against {df} ( Filing fee $ {fee} receipt number {rcpt}), "
               f"filed by {pl}.{att}({a_sig})")
        yield "complaint", "Complaint", txt

    opening = []
    if rng.random() < 0.7:
        opening.append(("summons", "Summons Issued",
                        f"Summons Issued as to {df}. {d.clerk_sig()}"))
    if rng.random() < 0.4:
        opening.append(("admin", "Civil Cover Sheet", f"Civil Cover Sheet. {d.clerk_sig()}"))
    if rng.random() < 0.5:
        opening.append(("admin", "Case Assigned",
                        f"Case Assigned to {d.judge_title} {d.judge} and referred to Magistrate Judge {d.magistrate}. "
                        f"{d.clerk_sig()}"))
    if rng.random() < 0.4:
        opening.append(("disclosure", "Corporate Disclosure Statement",
                        f"CORPORATE DISCLOSURE STATEMENT by {rng.choice(plaintiffs + defendants)}"
                        f"{' identifying Corporate Parent ' + d.company() + ' for ' + defendants[0] if rng.random() < 0.4 else ''}"
                        f". ({p_att[0][1]})"))
    for kind, lab, txt in opening:
        yield kind, lab, txt

    def motion() -> tuple[str, str, str]:
        parties, atts = side()
        long_name, short = rng.choice(MOTION_KINDS_CIVIL)
        movant = d.movant = rng.choice(parties)
        extra = ""
        if rng.random() < 0.5:
            extra = " " + d.attachments()
        if rng.random() < 0.15:
            extra += f" Motions referred to Magistrate Judge {d.magistrate}."
        target = d.cite_label(("complaint", "answer"))
        re_ = f" re {d.ref(target[0])} {target[1]}" if target and rng.random() < 0.35 else ""
        sig = rng.choice(atts)[1]
        resp = ""
        if rng.random() < 0.3:
            resp = f" Responses due by {d.mdy(d.future(14, 21))}"
        return "motion", short, f"{long_name}{re_} by {movant}.{resp}{extra} ({sig})"

    def extension() -> tuple[str, str, str]:
        target = d.cite_label(("complaint",))
        movant = d.movant = rng.choice(defendants)
        nth = rng.choice(("", "", "", "First ", "Second ", "Joint ", "Unopposed "))
        what = rng.choice(("File Answer", "File Answer or Otherwise Respond", "File Response/Reply",
                           "Complete Discovery"))
        re_ = f" re {d.ref(target[0])} {target[1]}" if target else ""
        return ("motion", "Motion for Extension of Time",
                f"{nth}MOTION for Extension of Time to {what}{re_} by {movant}. ({rng.choice(d_att)[1]})")

    def appearance() -> tuple[str, str, str]:
        parties, atts = side()
        name, sig = rng.choice(atts)
        return ("appearance", "Notice of Appearance",
                f"NOTICE of Appearance by {name} on behalf of {', '.join(parties)} ({sig})")

    def order_on_motion() -> tuple[str, str, str]:
        n, lab, movant = d.pending.pop(rng.randrange(len(d.pending)))
        verb = rng.choice(("granting", "granting", "denying", "granting in part and denying in part",
                           "finding as moot", "terminating"))
        mag = rng.random() < 0.3
        judge = f"Magistrate Judge {d.magistrate}" if mag else f"{d.judge_title} {d.judge}"
        head = rng.choice(("ORDER", "ORDER", "MINUTE ORDER", "MEMORANDUM AND ORDER", "ORDER AND REASONS",
                           "OPINION AND ORDER"))
        body = d.order_body(d.long_k())
        lab_txt = lab
        if rng.random() < 0.4:
            lab_txt = f"{lab} filed by {movant}"
        signed = f" Signed by {judge} on {d.mdy(d.date)}." if rng.random() < 0.9 else ""
        return "order", "Order", f"{head} {verb} {d.ref(n)} {lab_txt}. {body}{' ' if body else ''}{signed.strip()} {d.clerk_sig()}"

    def response() -> tuple[str, str, str]:
        n, lab, movant = rng.choice(d.pending)
        parties, atts = side()
        kind = rng.choice(("RESPONSE in Opposition", "MEMORANDUM in Opposition", "RESPONSE", "REPLY to Response",
                           "REPLY in Support"))
        extra = " " + d.attachments() if rng.random() < 0.3 else ""
        return ("response", "Response",
                f"{kind} re {d.ref(n)} {lab} filed by {rng.choice(parties)}.{extra} ({rng.choice(atts)[1]})")

    def answer() -> tuple[str, str, str]:
        target = d.cite_label(("complaint",))
        who = rng.choice(defendants)
        cc = " , COUNTERCLAIM against " + plaintiffs[0] if rng.random() < 0.15 else ""
        re_ = f" to {d.ref(target[0])} {target[1]}" if target else ""
        return ("answer", "Answer",
                f"ANSWER{re_}{cc} with Affirmative Defenses by {who}. ({rng.choice(d_att)[1]})")

    def affidavit_service() -> tuple[str, str, str]:
        who = rng.choice(defendants)
        served = d.date - dt.timedelta(days=rng.randint(1, 20))
        return ("summons", "Summons Returned Executed",
                f"SUMMONS Returned Executed by {plaintiffs[0]}. {who} served on {d.mdy(served)}, answer due "
                f"{d.mdy(served + dt.timedelta(days=21))}. ({p_att[0][1]})")

    def scheduling() -> tuple[str, str, str]:
        ds = sorted(d.future(30, 400) for _ in range(5))
        body = (f"SCHEDULING ORDER: Amended Pleadings due by {d.mdy(ds[0])}. Discovery due by {d.mdy(ds[1])}. "
                f"Dispositive Motions due by {d.mdy(ds[2])}. Final Pretrial Conference set for {d.mdy(ds[3])} "
                f"at {d.time()} before {d.judge_title} {d.judge}. {rng.choice(('Jury', 'Bench'))} Trial set for "
                f"{d.mdy(ds[4])} at {d.time()} in {d.courtroom()}. Signed by {d.judge_title} {d.judge} on "
                f"{d.mdy(d.date)}. {d.clerk_sig()}")
        return "sched", "Scheduling Order", body

    def minute() -> tuple[str, str, str]:
        what = rng.choice(("Status Conference", "Motion Hearing", "Scheduling Conference", "Telephone Conference",
                           "Settlement Conference", "Discovery Hearing", "Final Pretrial Conference"))
        sep = "\n" if rng.random() < 0.04 else " "
        extra = rng.choice(("", f" Court Reporter: {d.person(False)}.", " (Court Reporter: FTR Gold.)",
                            f" Case set for further status conference on {d.mdy(d.future())} at {d.time()}."))
        n = ""
        if d.pending and rng.random() < 0.4:
            m = rng.choice(d.pending)
            n = f" re {d.ref(m[0])} {m[1]}"
        return ("minute", "Minute Entry",
                f"Minute Entry for proceedings held before {d.judge_title} {d.judge}:{sep}{what} held on "
                f"{d.mdy(d.date)}{n}.{extra} {d.clerk_sig()}")

    def stipulation() -> tuple[str, str, str]:
        what = rng.choice(("of Dismissal with Prejudice", "of Dismissal without Prejudice",
                           "to Extend Time to Answer", "for Entry of Protective Order", "Regarding Briefing Schedule"))
        return ("stipulation", "Stipulation",
                f"STIPULATION {what} by {', '.join(plaintiffs + defendants)}. ({rng.choice(p_att + d_att)[1]})")

    def discovery() -> tuple[str, str, str]:
        parties, atts = side()
        what = rng.choice(("NOTICE of Service of Interrogatories", "NOTICE of Deposition of " + d.person(),
                           "CERTIFICATE OF SERVICE of Initial Disclosures", "NOTICE of Service of Discovery",
                           "Joint Discovery Plan", "REPORT of Rule 26(f) Planning Meeting", "NOTICE of Related Case"))
        return "notice", "Notice", f"{what} by {rng.choice(parties)} ({rng.choice(atts)[1]})"

    def judgment() -> tuple[str, str, str]:
        t = rng.choice(("in favor of " + defendants[0] + " against " + plaintiffs[0],
                        "in favor of " + plaintiffs[0] + " against " + df,
                        "dismissing the case with prejudice"))
        d.closed = True
        return ("judgment", "Judgment",
                f"JUDGMENT {t}. Signed by {d.judge_title} {d.judge} on {d.mdy(d.date)}. {d.clerk_sig()}")

    def appeal() -> tuple[str, str, str]:
        target = d.cite_label(("judgment", "order"))
        re_ = f" as to {d.ref(target[0])} {target[1]}" if target else ""
        return ("appeal", "Notice of Appeal",
                f"NOTICE OF APPEAL{re_} by {rng.choice(plaintiffs + defendants)}. Filing fee $ 505, receipt number "
                f"{rng.randint(10**8, 10**10 - 1)}. ({rng.choice(p_att + d_att)[1]})")

    def transcript() -> tuple[str, str, str]:
        return ("transcript", "Transcript",
                f"TRANSCRIPT of Proceedings held on {d.mdy(d.date - dt.timedelta(days=rng.randint(5, 40)))}, before "
                f"{d.judge_title} {d.judge}. Court Reporter/Transcriber {d.person(False)}. Transcript may be viewed "
                f"at the court public terminal or purchased through the Court Reporter/Transcriber before the "
                f"deadline for Release of Transcript Restriction. After that date it may be obtained through PACER. "
                f"Redaction Request due {d.mdy(d.future(21, 21))}. Release of Transcript Restriction set for "
                f"{d.mdy(d.future(90, 90))}. {d.clerk_sig()}")

    events: list[tuple[float, Callable[[], tuple[str, str, str]], Callable[[], bool]]] = [
        (3.0, motion, None),
        (1.2, extension, lambda: "complaint" in d.seen),
        (2.0, appearance, None),
        (3.5, order_on_motion, lambda: bool(d.pending)),
        (2.0, response, lambda: bool(d.pending)),
        (0.8, answer, None),
        (0.8, affidavit_service, None),
        (0.5, scheduling, lambda: "sched" not in d.seen),
        (1.5, minute, None),
        (0.6, stipulation, None),
        (1.5, discovery, None),
        (0.25, transcript, None),
        (0.15, judgment, lambda: not d.closed),
        (0.1, appeal, lambda: d.closed),
    ]
    yield from _run_events(d, n_entries - 1 - len(opening), events, "civil")


# ----------------------------------------------------------------------------------------------------
# Criminal dockets
# ----------------------------------------------------------------------------------------------------
def _criminal(d: _Docket, n_entries: int) -> Iterator[tuple[str, str, str]]:
    rng = d.rng
    defs = [d.person(suffix=True) for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3, 5)))]
    ausa = d.attorney()
    dfa = [d.attorney() for _ in defs]
    yy = d.date.year % 100
    casenum = f"{rng.randint(1, 8)}:{yy:02d}-cr-{rng.randint(1, 999):05d}"
    statutes = ("21:841(a)(1) and 846 Conspiracy to Distribute Controlled Substance", "18:1343 Wire Fraud",
                "18:922(g)(1) Felon in Possession of a Firearm", "8:1326(a) Reentry of Removed Alien",
                "18:1028A Aggravated Identity Theft", "18:2113(a) Bank Robbery", "18:1956(h) Money Laundering "
                "Conspiracy", "26:7201 Tax Evasion", "18:2252A(a)(5)(B) Possession of Child Pornography")

    def counts(i: int) -> str:
        k = max(1, int(rng.expovariate(0.35)))
        parts = []
        c = 1
        for _ in range(k):
            if rng.random() < 0.3:
                e = c + rng.randint(1, 6)
                parts.append(f"{c}-{e}")
                c = e + 1
            else:
                parts.append(str(c))
                c += rng.randint(1, 2)
        return f"{defs[i]} ({i + 1}) count(s) {', '.join(parts)}"

    head = rng.choice(("INDICTMENT", "INDICTMENT", "SEALED INDICTMENT", "INFORMATION", "COMPLAINT"))
    cnt = ", ".join(counts(i) for i in range(len(defs)))
    if head == "COMPLAINT":
        yield ("charging", "Complaint",
               f"COMPLAINT as to {', '.join(defs)} ({rng.choice(statutes)}). {d.clerk_sig()}")
    else:
        forfeiture = " Forfeiture Allegation." if rng.random() < 0.3 else ""
        yield "charging", "Indictment", f"{head} as to {cnt}.{forfeiture} {d.clerk_sig()}"

    def who() -> tuple[int, str]:
        i = rng.randrange(len(defs))
        return i, defs[i]

    def arrest() -> tuple[str, str, str]:
        i, n = who()
        return "arrest", "Arrest", f"Arrest of {n}. {d.clerk_sig()}"

    def initial() -> tuple[str, str, str]:
        i, n = who()
        bond = rng.choice(("Bond set as to {n} ({i}) $" + str(rng.choice((5000, 10000, 25000, 50000))) + " Unsecured.",
                           "Government moved for detention. Detention Hearing set for {dd} at {t}.",
                           "Federal Defender appointed for {n}.", "Defendant remanded to custody of USMS."))
        bond = bond.format(n=n, i=i + 1, dd=d.mdy(d.future(2, 5)), t=d.time())
        sep = "\n" if rng.random() < 0.04 else " "
        return ("minute", "Minute Entry",
                f"Minute Entry for proceedings held before Magistrate Judge {d.magistrate}:{sep}Initial Appearance "
                f"as to {n} held on {d.mdy(d.date)}. {bond} (Tape #{rng.randint(1, 99)}-{rng.randint(1, 999)}.) "
                f"{d.clerk_sig()}")

    def detention() -> tuple[str, str, str]:
        i, n = who()
        return ("order", "Order of Detention",
                f"ORDER OF DETENTION PENDING TRIAL as to {n}. Signed by Magistrate Judge {d.magistrate} on "
                f"{d.mdy(d.date)}. {d.clerk_sig()}")

    def cja() -> tuple[str, str, str]:
        i, n = who()
        return ("appearance", "CJA 20",
                f"CJA 20 as to {n}: Appointment of Attorney {dfa[i][0]} for {n}. Signed by Magistrate Judge "
                f"{d.magistrate} on {d.mdy(d.date)}. {d.clerk_sig()}")

    def appearance() -> tuple[str, str, str]:
        if rng.random() < 0.4:
            return ("appearance", "Notice of Attorney Appearance",
                    f"NOTICE OF ATTORNEY APPEARANCE {ausa[0]} appearing for USA. ({ausa[1]})")
        i, n = who()
        return ("appearance", "Notice of Attorney Appearance",
                f"NOTICE OF ATTORNEY APPEARANCE: {dfa[i][0]} appearing for {n} ({dfa[i][1]})")

    def arraign() -> tuple[str, str, str]:
        i, n = who()
        return ("minute", "Arraignment",
                f"Minute Entry for proceedings held before Magistrate Judge {d.magistrate}: Arraignment as to {n} "
                f"({i + 1}) Count {rng.randint(1, 3)} held on {d.mdy(d.date)}. Plea entered by {n}: Not Guilty on all "
                f"counts. {rng.choice(('Jury', 'Jury', 'Bench'))} Trial set for {d.mdy(d.future(45, 120))} at "
                f"{d.time()} before {d.judge_title} {d.judge}. {d.clerk_sig()}")

    def motion() -> tuple[str, str, str]:
        if rng.random() < 0.2:
            long_name, short = rng.choice(MOTION_KINDS_CRIM)
            d.movant = "USA"
            return ("motion", short, f"{long_name} by USA as to {rng.choice(defs)}. ({ausa[1]})")
        i, n = who()
        d.movant = n
        long_name, short = rng.choice(MOTION_KINDS_CRIM)
        extra = " " + d.attachments() if rng.random() < 0.25 else ""
        return "motion", short, f"{long_name} by {n}.{extra} ({dfa[i][1]})"

    def order_on_motion() -> tuple[str, str, str]:
        n, lab, movant = d.pending.pop(rng.randrange(len(d.pending)))
        verb = rng.choice(("granting", "granting", "denying", "finding as moot"))
        body = d.order_body(d.long_k())
        return ("order", "Order",
                f"ORDER {verb} {d.ref(n)} {lab} as to {rng.choice(defs)} ({rng.randint(1, len(defs))}). "
                f"{body}{' ' if body else ''}Signed by {d.judge_title} {d.judge} on {d.mdy(d.date)}. {d.clerk_sig()}")

    def response() -> tuple[str, str, str]:
        n, lab, movant = rng.choice(d.pending)
        return ("response", "Response",
                f"RESPONSE in Opposition by USA as to {rng.choice(defs)} re {d.ref(n)} {lab} ({ausa[1]})")

    def plea() -> tuple[str, str, str]:
        i, n = who()
        if rng.random() < 0.5:
            return "plea", "Plea Agreement", f"PLEA AGREEMENT as to {n} {d.clerk_sig()}"
        return ("minute", "Change of Plea",
                f"Minute Entry for proceedings held before {d.judge_title} {d.judge}: Change of Plea Hearing as to "
                f"{n} held on {d.mdy(d.date)}. Plea entered by {n} ({i + 1}) Guilty Count {rng.randint(1, 4)}. PSR "
                f"Ordered. Sentencing set for {d.mdy(d.future(80, 120))} at {d.time()} before {d.judge_title} "
                f"{d.judge}. {d.clerk_sig()}")

    def judgment() -> tuple[str, str, str]:
        i, n = who()
        months = rng.choice((12, 18, 24, 30, 37, 46, 57, 60, 70, 84, 120, 151, 188, 240))
        body = (f"JUDGMENT as to {n} ({i + 1}), Count(s) {rng.randint(1, 3)}, Imprisonment for a term of {months} "
                f"months; Supervised Release for a term of {rng.choice((2, 3, 4, 5))} years; Special Assessment "
                f"$100.00.")
        if rng.random() < 0.3:
            body += (" Count(s) " + ", ".join(str(rng.randint(2, 20)) for _ in range(rng.randint(1, 4))) +
                     ", Dismissed on the motion of the United States.")
        return "judgment", "Judgment", f"{body} Signed by {d.judge_title} {d.judge} on {d.mdy(d.date)}. {d.clerk_sig()}"

    def minute() -> tuple[str, str, str]:
        i, n = who()
        what = rng.choice(("Status Conference", "Detention Hearing", "Pretrial Conference", "Motion Hearing",
                           "Sentencing", "Bond Hearing"))
        return ("minute", "Minute Entry",
                f"Minute Entry for proceedings held before {d.judge_title} {d.judge}: {what} as to {n} held on "
                f"{d.mdy(d.date)}. {d.order_body(d.long_k() // 2)} {d.clerk_sig()}".replace("  ", " "))

    def misc() -> tuple[str, str, str]:
        i, n = who()
        t = rng.choice((f"Arrest Warrant Returned Executed on {d.mdy(d.date)} in case as to {n}.",
                        f"Sentencing Memorandum by {n}",
                        f"NOTICE OF HEARING as to {n}: Status Conference set for {d.mdy(d.future())} at {d.time()} "
                        f"in {d.courtroom()} before {d.judge_title} {d.judge}.",
                        f"WAIVER of Detention Hearing by {n}",
                        f"Consent to Proceed Before Magistrate Judge as to {n}",
                        f"Appearance Bond Entered as to {n} in amount of $ {rng.choice((10000, 25000, 50000))}",
                        f"Order Setting Conditions of Release as to {n} ({i + 1}) $ {rng.choice((5000, 10000))} "
                        f"Unsecured Bond. Signed by Magistrate Judge {d.magistrate} on {d.mdy(d.date)}.",
                        f"Redacted Indictment as to {n}.", f"Case {casenum} as to {n} unsealed."))
        return "notice", "Notice", f"{t} {d.clerk_sig()}"

    def appeal() -> tuple[str, str, str]:
        target = d.cite_label(("judgment",))
        i, n = who()
        re_ = f" re {d.ref(target[0])} {target[1]}" if target else ""
        return ("appeal", "Notice of Appeal", f"NOTICE OF APPEAL by {n}{re_} ({dfa[i][1]})")

    events = [
        (0.8, arrest, None),
        (1.0, initial, None),
        (0.5, detention, None),
        (0.8, cja, None),
        (1.2, appearance, None),
        (0.8, arraign, None),
        (2.5, motion, None),
        (3.0, order_on_motion, lambda: bool(d.pending)),
        (1.0, response, lambda: bool(d.pending)),
        (0.6, plea, None),
        (0.5, judgment, None),
        (1.5, minute, None),
        (2.0, misc, None),
        (0.15, appeal, lambda: "judgment" in d.seen),
    ]
    yield from _run_events(d, n_entries - 1, events, "criminal")


# ----------------------------------------------------------------------------------------------------
# Bankruptcy dockets
# ----------------------------------------------------------------------------------------------------
def _bankruptcy(d: _Docket, n_entries: int) -> Iterator[tuple[str, str, str]]:
    rng = d.rng
    chapter = rng.choices((7, 13, 11), (0.62, 0.32, 0.06))[0]
    joint = chapter != 11 and rng.random() < 0.35
    if chapter == 11:
        debtors = [d.company()]
    else:
        debtors = [d.person(suffix=True)] + ([d.person(suffix=True)] if joint else [])
    deb = ", ".join(("Debtor " if i == 0 else "Joint Debtor ") + x for i, x in enumerate(debtors))
    att = d.attorney()
    trustee = d.person()
    creditors = [d.company() if rng.random() < 0.8 else rng.choice(AGENCIES) for _ in range(rng.randint(2, 6))]
    cred_att = [d.attorney() for _ in creditors]
    fee = {7: 299, 13: 313, 11: 1717}[chapter]
    sig = f"({att[1]})"

    pet = (f"Chapter {chapter} Voluntary Petition{' Individual' if chapter != 11 else ' Non-Individual'}. "
           f"Receipt Number {rng.randint(10**6, 10**8)}, Fee Amount ${fee} Filed by {', '.join(debtors)}"
           f"{' Incomplete Filings due by ' + d.mdy(d.future(14, 14)) + '.' if rng.random() < 0.4 else '.'} {sig}")
    yield "petition", "Voluntary Petition", pet

    meet = d.future(20, 40)
    mc = (f"Meeting of Creditors with 341(a) meeting to be held on {d.mmddyyyy(meet)} at {d.time()} at "
          f"{rng.choice(('Room', 'Suite'))} {rng.randint(100, 1200)}, {rng.randint(10, 999)} {rng.choice(STREETS)}, "
          f"{rng.choice(CITIES)}.")
    if chapter == 13:
        mc += (f" Confirmation hearing to be held on {d.mmddyyyy(meet + dt.timedelta(days=rng.randint(20, 60)))} at "
               f"{d.time()} at {d.courtroom()}.")
    if chapter != 7 or rng.random() < 0.3:
        mc += f" Proof of Claim due by {d.mmddyyyy(meet + dt.timedelta(days=90))}."
    if rng.random() < 0.6:
        mc += (f" Objection to Dischargeability of Certain Debts due by "
               f"{d.mmddyyyy(meet + dt.timedelta(days=60))}.")
    yield "meeting", f"Meeting (AutoAssign Chapter {chapter})", mc + (" " + d.clerk_sig() if rng.random() < 0.3 else "")

    def bnc() -> tuple[str, str, str]:
        target = d.cite_label(("meeting", "order", "notice", "discharge"))
        dd = d.mmddyyyy(d.date)
        if target and rng.random() < 0.85:
            n, lab = target
            if rng.random() < 0.5:
                return ("bnc", "BNC Certificate of Notice",
                        f"BNC Certificate of Notice (RE: related document(s){n} {lab}). Notice Date {dd}. (Admin.)")
            return ("bnc", "BNC Certificate of Mailing",
                    f"BNC Certificate of Mailing - {lab} (related document(s) {n} {lab}) No. of Notices: "
                    f"{rng.randint(1, 60)}. Service Date {dd}. (Admin.)")
        return ("bnc", "BNC Certificate of Mailing",
                f"BNC Certificate of Mailing - Meeting of Creditors. Service Date {dd}. (Admin.)")

    def filing() -> tuple[str, str, str]:
        t = rng.choice(("Certificate of Credit Counseling", "Schedules A/B, D, E/F, G, H, Summary of Assets and "
                        "Liabilities and Certain Statistical Information", "Statement of Financial Affairs",
                        "Declaration Concerning Debtor's Schedules", "Employee Income Records",
                        f"Chapter {chapter} Statement of Your Current Monthly Income", "Statement of Intention",
                        "Verification of Creditor Matrix", "Statement About Your Social Security Numbers",
                        "Amended Schedules I and J", "Disclosure of Compensation of Attorney for Debtor"))
        extra = " " + d.attachments(("cc", "pay stubs", "Creditor Matrix", "Exhibit A")) if rng.random() < 0.2 else ""
        return "filing", t, f"{t} Filed by {deb}.{extra} {sig}"

    def plan() -> tuple[str, str, str]:
        return "plan", "Chapter 13 Plan", f"Chapter 13 Plan Filed by {deb}. {sig}"

    def nar() -> tuple[str, str, str]:
        i = rng.randrange(len(creditors))
        return ("appearance", "Notice of Appearance",
                f"Notice of Appearance and Request for Notice by {cred_att[i][0]} Filed by Creditor {creditors[i]}. "
                f"({cred_att[i][1]})")

    def motion() -> tuple[str, str, str]:
        long_name, short = rng.choice(MOTION_KINDS_BK)
        if short in ("Motion for Relief From Stay", "Motion to Value Collateral"):
            i = rng.randrange(len(creditors))
            collat = rng.choice((f"{rng.randint(100, 9999)} {rng.choice(STREETS)}, {rng.choice(CITIES)}",
                                 f"{rng.randint(1998, d.date.year)} {rng.choice(('Ford F-150', 'Honda Accord', 'Toyota Camry', 'Chevrolet Silverado', 'Nissan Altima'))}"))
            fee_txt = " Fee Amount $188," if short == "Motion for Relief From Stay" else ""
            d.movant = f"Creditor {creditors[i]}"
            return ("motion", short,
                    f"{long_name} as to {collat}.{fee_txt} Filed by Creditor {creditors[i]}. Hearing scheduled for "
                    f"{d.mmddyyyy(d.future(14, 35))} at {d.time()} at {d.courtroom()}. Objections due by "
                    f"{d.mmddyyyy(d.future(7, 14))}. ({cred_att[i][1]})")
        by = d.movant = f"Trustee {trustee}" if short == "Motion to Dismiss Case" else deb
        return "motion", short, f"{long_name} Filed by {by}. {sig}"

    def order_on_motion() -> tuple[str, str, str]:
        n, lab, movant = d.pending.pop(rng.randrange(len(d.pending)))
        verb = rng.choice(("Granting", "Granting", "Denying", "Granting in Part"))
        body = d.order_body(max(0, d.long_k() - 1))
        if rng.random() < 0.5:
            return ("order", "Order", f"Order {verb} {lab} (Related Doc # {n}). {body}{' ' if body else ''}"
                                      f"{d.clerk_sig()}")
        return ("order", "Order",
                f"Order {verb} {lab}. {body}{' ' if body else ''}(RE: related document(s){n} {lab} filed by "
                f"{movant}). Signed on {d.mdy(d.date)}. {d.clerk_sig()}")

    def cos() -> tuple[str, str, str]:
        target = d.cite_label(("motion", "plan", "order", "filing"))
        if target:
            n, lab = target
            return ("cos", "Certificate of Service",
                    f"Certificate of Service (RE: related document(s){n} {lab}) Filed by {deb}. {sig}")
        return "cos", "Certificate of Service", f"Certificate of Service Filed by {deb}. {sig}"

    def objection() -> tuple[str, str, str]:
        target = d.cite_label(("plan", "motion", "claim"))
        re_ = f" (related document(s):{target[0]} {target[1]})" if target else ""
        if chapter == 13 and rng.random() < 0.5:
            return ("objection", "Objection",
                    f"Trustee's Objection to Confirmation of Plan{re_} Filed by Trustee {trustee}. ({trustee.split()[-1]}"
                    f", {trustee.split()[0]})")
        i = rng.randrange(len(creditors))
        return ("objection", "Objection",
                f"Objection to {target[1] if target else 'Debtor Claim of Exemptions'}{re_} Filed by Creditor "
                f"{creditors[i]}. "
                f"({cred_att[i][1]})")

    def claim() -> tuple[str, str, str]:
        i = rng.randrange(len(creditors))
        return ("claim", "Transfer of Claim",
                f"Transfer of Claim. Transfer Agreement 3001 (e) 2 Transferors: {creditors[i]} (Claim No. "
                f"{rng.randint(1, 40)}) To {d.company()}. Fee Amount $26 Filed by Creditor {d.company()}. "
                f"({cred_att[i][1]})")

    def hearing() -> tuple[str, str, str]:
        target = d.pending[-1] if d.pending else None
        re_ = f" (RE: related document(s){target[0]} {target[1]} filed by {target[2]})" if target else ""
        outcome = rng.choice(("Granted.", "Denied.", "Continued.", "Order to be submitted.",
                              "Granted as per terms stated on the record. Submit Order."))
        return ("hearing", "Hearing Held",
                f"Hearing Held{re_}. {outcome} Hearing continued to {d.mmddyyyy(d.future(14, 45))} at {d.time()}."
                f" {d.clerk_sig()}")

    def confirm() -> tuple[str, str, str]:
        target = d.cite_label(("plan",))
        re_ = f" (Related Doc # {target[0]})" if target else ""
        return "order", "Order Confirming Plan", f"Order Confirming Chapter {chapter} Plan{re_}. {d.clerk_sig()}"

    def fee_app() -> tuple[str, str, str]:
        who_ = d.movant = d.firm()
        k = rng.randint(1, 4)
        start = d.date - dt.timedelta(days=30 * k)
        body = d.order_body(d.long_k()) if rng.random() < 0.5 else ""
        return ("motion", "Application for Compensation",
                f"{rng.choice(('First', 'Second', 'Third', 'Final', 'Interim'))} Application for Compensation and "
                f"Reimbursement of Expenses of {who_}, as {rng.choice(('Counsel to the Debtor', 'Special Counsel', 'Financial Advisor to the Official Committee of Unsecured Creditors', 'Accountants to the Trustee'))}"
                f" for the Period of {_MONTHS[start.month - 1]} {start.day}, {start.year} through "
                f"{_MONTHS[d.date.month - 1]} {d.date.day}, {d.date.year}, Fee: ${rng.randint(2000, 900000):,}.00, "
                f"Expenses: ${rng.randint(10, 40000):,}.{rng.randint(0, 99):02d}. Filed by {who_}. Objections due "
                f"by {d.mdy(d.future(14, 21))}. {body}{' ' if body else ''}{d.attachments()} {sig}")

    def notice() -> tuple[str, str, str]:
        t = rng.choice(("Notice of Requirement to Complete Course in Financial Management",
                        "Notice of Deficient Filing", "Notice of Possible Dividends", "Notice of Claims Bar Date",
                        "Notice of Assets and Request for Proofs of Claim",
                        "Notice of Intent to Dismiss Case for Failure to File Documents"))
        return "notice", t, f"{t}. {d.clerk_sig() if rng.random() < 0.6 else '(Admin)'}"

    def discharge() -> tuple[str, str, str]:
        d.closed = True
        return ("discharge", "Order Discharging Debtor",
                f"ORDER DISCHARGING DEBTOR(S) {', '.join(debtors)}. {d.clerk_sig()}")

    def report() -> tuple[str, str, str]:
        if chapter == 7:
            assets = rng.randint(0, 400000)
            return ("report", "Trustee's Report",
                    f"Chapter 7 Trustee's Report of No Distribution: I, {trustee}, having been appointed trustee of "
                    f"the estate of the above-named debtor(s), report that I have neither received any property "
                    f"nor paid any money on account of this estate; that I have made a diligent inquiry into the "
                    f"financial affairs of the debtor(s) and the location of the property belonging to the estate; "
                    f"and that there is no property available for distribution from the estate over and above that "
                    f"exempted by law. Pursuant to Fed R Bank P 5009, I hereby certify that the estate of the "
                    f"above-named debtor(s) has been fully administered. I request that I be discharged from any "
                    f"further duties as trustee. Key information about this case as reported in schedules filed by "
                    f"the debtor(s) or otherwise found in the case record: This case was pending for "
                    f"{rng.randint(2, 9)} months. Assets Abandoned (without deducting any secured claims): $ "
                    f"{assets:,}.00, Assets Exempt: $ {rng.randint(0, 80000):,}.00, Claims Scheduled: $ "
                    f"{rng.randint(5000, 900000):,}.00, Claims Asserted: Not Applicable, Claims scheduled to be "
                    f"discharged without payment (without deducting the value of collateral or debts excepted from "
                    f"discharge): $ {rng.randint(5000, 900000):,}.00. ({trustee.split()[-1]}, {trustee.split()[0]})")
        return ("report", "Trustee's Report",
                f"Chapter {chapter} Trustee's {rng.choice(('Report', 'Final Report and Account', 'Notice of Plan Completion'))}"
                f" Filed by Trustee {trustee}. ({trustee.split()[-1]}, {trustee.split()[0]})")

    events = [
        (3.0, bnc, None),
        (2.5, filing, None),
        (0.5, plan, (lambda: True) if chapter == 13 else (lambda: False)),
        (1.5, nar, None),
        (2.0, motion, None),
        (2.5, order_on_motion, lambda: bool(d.pending)),
        (1.0, cos, None),
        (0.8, objection, None),
        (0.6, claim, None),
        (1.0, hearing, None),
        (0.4, confirm, lambda: "plan" in d.seen),
        (0.6, fee_app, (lambda: True) if chapter == 11 else (lambda: False)),
        (1.0, notice, None),
        (0.3, discharge, lambda: chapter != 11 and not d.closed),
        (0.4, report, None),
    ]
    yield from _run_events(d, n_entries - 2, events, "bankruptcy")


def _run_events(d: _Docket, n: int, events, kind: str) -> Iterator[tuple[str, str, str]]:
    rng = d.rng
    boiler = BOILERPLATE[kind]
    for _ in range(max(0, n)):
        x = rng.random()
        if x < 0.004:
            yield "boiler", "", rng.choice(boiler)
            continue
        if x < 0.008:
            yield "empty", "", ""
            continue
        fs, ws = [], []
        for w, f, cond in events:
            if cond is None or cond():
                fs.append(f)
                ws.append(w)
        f = rng.choices(fs, ws)[0]
        yield f()


_KINDS = (("civil", _civil, 0.5), ("criminal", _criminal, 0.2), ("bankruptcy", _bankruptcy, 0.3))
_ENTITIES = (("&", "&amp;"), ("'", "&#39;"), ('"', "&quot;"))


def _docket_entries(seed: int, index: int) -> tuple[list[dict], int]:
    """The entries of docket `index` (without ids) and the gap to the next docket id."""
    rng = random.Random(f"docketbert-synthetic:{seed}:{index}")
    x = rng.random()
    for kind, fn, p in _KINDS:
        if x < p:
            break
        x -= p
    d = _Docket(rng, kind)
    # 5–60 entries, skewed towards short dockets
    n_entries = 5 + min(55, int(rng.expovariate(1 / 16)))
    out: list[dict] = []
    seq_day, day_count = None, 0
    pacer_seq = rng.randint(1, 400) if rng.random() < 0.6 else None
    gen = fn(d, n_entries)
    for k in range(n_entries):
        # advance the clock before the entry is written (the first entry keeps the start date)
        if k:
            y = rng.random()
            if y < 0.35:
                pass
            elif y < 0.85:
                d.date += dt.timedelta(days=rng.randint(1, 14))
            else:
                d.date += dt.timedelta(days=int(rng.expovariate(1 / 60)) + 1)
        item = next(gen, None)
        if item is None:
            break
        ekind, label, text = item
        d.num += 1 if k == 0 or rng.random() < 0.93 else rng.randint(2, 4)
        num = d.num
        if ekind not in ("boiler", "empty"):
            entered = d.date + dt.timedelta(days=0 if rng.random() < 0.8 else rng.randint(1, 3))
            if rng.random() < 0.05:
                mod = entered + dt.timedelta(days=rng.randint(0, 5))
                text += f" Modified on {d.mdy(mod)} {rng.choice(MODIFIED)} {d.clerk_sig()}."
            if d.entered:
                text = f"{text} (Entered: {d.mmddyyyy(entered)})"
            if d.amp_escape:
                for a, b in _ENTITIES:
                    text = text.replace(a, b)
            d.entries.append((num, ekind, label))
            d.seen.add(ekind)
            if ekind == "motion":
                d.pending.append((num, label, d.movant))
        if seq_day != d.date:
            seq_day, day_count = d.date, 0
        day_count += 1
        if pacer_seq is not None:
            pacer_seq += rng.randint(1, 3)
        out.append({"entry_number": num, "date_filed": d.date.isoformat(), "description": text,
                    "_recap_seq": f"{d.date.isoformat()}.{day_count:03d}", "_pacer_seq": pacer_seq,
                    "_rng_created": rng.random(), "_rng_modified": rng.random()})
    return out, rng.randint(1, 40)


def _iter_dockets(num_dockets: int, seed: int) -> Iterator[tuple[int, int, list[dict]]]:
    """(docket_id, first entry id, entries) for each docket."""
    docket_id, entry_id = 100_000 + (seed % 1000) * 1000, 1_000_000
    for i in range(num_dockets):
        entries, gap = _docket_entries(seed, i)
        yield docket_id, entry_id, entries
        docket_id += gap
        entry_id += len(entries) + gap


def generate_entries(num_dockets: int, seed: int = 0) -> Iterator[dict]:
    """Yield synthetic docket entries: dicts with ``id`` (unique int), ``docket_id`` (int),
    ``entry_number`` (increasing within a docket), ``date_filed`` ("YYYY-MM-DD", non-decreasing within a
    docket) and ``description`` (str; may be empty, multi-line, or hold HTML entities)."""
    for docket_id, eid, entries in _iter_dockets(num_dockets, seed):
        for j, e in enumerate(entries):
            yield {"id": eid + j, "docket_id": docket_id, "entry_number": e["entry_number"],
                   "date_filed": e["date_filed"], "description": e["description"]}


def iter_csv_rows(num_dockets: int, seed: int = 0) -> Iterator[list[str]]:
    """The CSV rows (as strings, in CSV_COLUMNS order, header excluded) that `write_courtlistener_csv` writes."""
    for docket_id, eid, entries in _iter_dockets(num_dockets, seed):
        if not entries:
            continue
        last = dt.date.fromisoformat(entries[-1]["date_filed"])
        # RECAP fetched the docket some time after its last entry; a few entries were touched again later.
        crawl = dt.datetime.combine(last, dt.time()) + dt.timedelta(
            days=1 + int(entries[0]["_rng_created"] * 900), seconds=int(entries[-1]["_rng_created"] * 86000))
        for j, e in enumerate(entries):
            created = crawl + dt.timedelta(seconds=j * 0.05 + e["_rng_created"] * 0.04)
            modified = created
            if e["_rng_modified"] < 0.1:
                modified += dt.timedelta(days=e["_rng_modified"] * 4000)
            yield [str(eid + j), _pg_ts(created), _pg_ts(modified), e["date_filed"], str(e["entry_number"]),
                   e["_recap_seq"], "" if e["_pacer_seq"] is None else str(e["_pacer_seq"]), e["description"],
                   str(docket_id)]


def _pg_ts(t: dt.datetime) -> str:
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}."
            f"{t.microsecond:06d}+00")


def _open_text(path: Path):
    name = path.name.lower()
    if name.endswith(".gz"):
        # mtime=0 and no file name in the header: the same seed gives the same bytes
        raw = open(path, "wb")
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
        return io.TextIOWrapper(gz, encoding="utf-8", newline=""), (gz, raw)
    if name.endswith(".bz2"):
        return bz2.open(path, "wt", encoding="utf-8", newline=""), ()
    return open(path, "w", encoding="utf-8", newline=""), ()


def write_courtlistener_csv(path: str | Path, num_dockets: int = 2000, seed: int = 0) -> int:
    """Write `num_dockets` synthetic dockets as a CourtListener bulk-data style docket-entries CSV.

    Header: ``id,date_created,date_modified,date_filed,entry_number,recap_sequence_number,
    pacer_sequence_number,description,docket_id``; every field quoted, rows end in ``\\n`` (as PostgreSQL
    ``COPY ... FORCE_QUOTE *`` writes them); descriptions may span lines. A ``.gz`` or ``.bz2`` suffix
    compresses. Returns the number of rows written (header excluded)."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    f, extra = _open_text(path)
    n = 0
    try:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for row in iter_csv_rows(num_dockets, seed):
            w.writerow(row)
            n += 1
    finally:
        f.close()
        for x in extra:
            x.close()
    return n


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m docketbert.synthetic",
        description="Write a synthetic corpus of US federal court docket entries (PACER/CM-ECF style) as a "
                    "CourtListener bulk-data style docket-entries CSV. Everything is invented; deterministic per "
                    "seed.")
    p.add_argument("output", help="output CSV path; a .gz or .bz2 suffix compresses")
    p.add_argument("--dockets", type=int, default=2000, help="number of dockets (5-60 entries each; default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    a = p.parse_args(argv)
    if a.dockets < 0:
        p.error("--dockets must be >= 0")
    n = write_courtlistener_csv(a.output, a.dockets, a.seed)
    print(f"wrote {n} docket entries from {a.dockets} dockets to {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
