"""What every synthetic docket shares: the court's habits, the running state, names, dates and citations."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable, Iterator

from docketbert.data.synthetic.vocabulary import (
    BANKS,
    BOILERPLATE,
    CITIES,
    CO_A,
    CO_B,
    CO_SUF,
    FIRST,
    LAST,
    ORDER_SENTENCES,
    STATES,
    SUFFIX,
)

Entry = tuple[str, str, str]  # (kind, short label, text)
# (weight, writer, condition): the writer may be drawn while the condition (None: always) holds
Event = tuple[float, Callable[[], Entry], Callable[[], bool] | None]

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


class Docket:
    """The court's habits and the running state of one synthetic docket, and the text pieces its entries share.

    A subclass per kind of docket (civil, criminal, bankruptcy) draws the parties and writes the entries:
    :meth:`entries` yields ``(kind, short label, text)`` for each entry; the caller numbers and dates them.
    """

    kind = ""

    def __init__(self, rng: random.Random):
        self.rng = rng
        r = rng.random
        st = rng.choice(STATES)
        self.court = st + ("b" if self.kind == "bankruptcy" else "d")
        # court style
        self.ref_style = rng.choice(("plain", "plain", "plain", "bracket"))
        self.entered = r() < 0.85
        self.amp_escape = r() < 0.25
        self.clerks = [self._initials() for _ in range(rng.randint(2, 5))]
        self.clerk_comma = r() < 0.3
        self.judge = self.person()
        self.judge_title = "Judge"
        self.magistrate = self.person()
        self.filed: list[tuple[int, str, str]] = []  # (number, kind, short label)
        self.pending: list[tuple[int, str, str]] = []  # open motions: (number, short label, movant)
        self.num = 0
        self.date = dt.date(2003, 1, 1) + dt.timedelta(days=rng.randrange(19 * 365))
        self.closed = False
        self.seen: set[str] = set()  # kinds of the entries so far
        self.movant = "Debtor"  # who filed the last motion

    # ---- names -------------------------------------------------------------------------------------
    def person(self, middle: bool | None = None, suffix: bool = False) -> str:
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
        return rng.choice(
            (
                f"{a} & {b} LLP",
                f"{a}, {b} & {rng.choice(LAST)}, P.A.",
                f"{a} {b} PLLC",
                f"Law Offices of {rng.choice(FIRST)} {a}",
                f"{a} & Associates, P.C.",
                f"{a} Law Group",
            )
        )

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
        return rng.choice(
            (
                f"Courtroom {rng.randint(1, 28)}{rng.choice(('', 'A', 'B', 'C'))}",
                f"Courtroom {rng.randint(101, 960)}",
                f"{rng.choice(('2nd', '3rd', '4th', '7th'))} Floor Courtroom, {rng.choice(CITIES)}",
            )
        )

    def attachments(self, labels: tuple[str, ...] = ()) -> str:
        rng = self.rng
        pool = labels or (
            "Exhibit A",
            "Exhibit B",
            "Exhibit C",
            "Exhibit 1",
            "Exhibit 2",
            "Proposed Order",
            "Certificate of Service",
            "Affidavit",
            "Declaration",
            "Text of Proposed Order",
            "Memorandum in Support",
            "Index of Exhibits",
            "Supplement",
        )
        k = min(len(pool), 1 + int(rng.expovariate(0.8)))
        items = rng.sample(pool, k)
        return "(Attachments: " + ", ".join(f"# {i} {x}" for i, x in enumerate(items, 1)) + ")"

    def order_body(self, k: int) -> str:
        rng = self.rng
        out = []
        for s in rng.sample(ORDER_SENTENCES, min(k, len(ORDER_SENTENCES))):
            if "{" in s:
                d = self.future(14, 120)
                s = s.format(
                    n=rng.choice((7, 10, 14, 21, 30)),
                    d=self.mdy(d),
                    d2=self.mdy(d + dt.timedelta(days=rng.randint(14, 90))),
                )
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

    def cite_label(self, kinds: tuple[str, ...]) -> tuple[int, str] | None:
        cands = [(n, lab) for n, k, lab in self.filed if k in kinds]
        if not cands:
            return None
        # prefer recent entries
        return cands[-1 - min(len(cands) - 1, int(self.rng.expovariate(0.7)))]

    def minute_entry(self, before: str, event: str, after: str, sep: str = " ") -> str:
        """ "Minute Entry for proceedings held before <before>:<sep><event> held on <today><after> (clerk)"."""
        return (
            f"Minute Entry for proceedings held before {before}:{sep}{event} held on {self.mdy(self.date)}{after} "
            f"{self.clerk_sig()}"
        )

    def signed(self, by: str = "") -> str:
        """ "Signed by <by, default the judge> on <today>. (clerk)"."""
        return f"Signed by {by or f'{self.judge_title} {self.judge}'} on {self.mdy(self.date)}. {self.clerk_sig()}"

    # ---- the course of the docket --------------------------------------------------------------------
    def entries(self, n_entries: int) -> Iterator[Entry]:
        raise NotImplementedError

    def run_events(self, n: int, events: list[Event]) -> Iterator[Entry]:
        """`n` entries, each a rare boilerplate or empty one, or else drawn from the events whose condition holds."""
        rng = self.rng
        boiler = BOILERPLATE[self.kind]
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
