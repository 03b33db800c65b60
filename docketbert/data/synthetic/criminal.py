"""Criminal dockets: indictment, information or complaint -> arrest, initial appearance, counsel ->
arraignment and motions -> plea -> judgment, sometimes an appeal."""

from __future__ import annotations

from collections.abc import Iterator

from docketbert.data.synthetic.docket import Docket, Entry, Event
from docketbert.data.synthetic.vocabulary import MOTION_KINDS_CRIM

STATUTES = (
    "21:841(a)(1) and 846 Conspiracy to Distribute Controlled Substance",
    "18:1343 Wire Fraud",
    "18:922(g)(1) Felon in Possession of a Firearm",
    "8:1326(a) Reentry of Removed Alien",
    "18:1028A Aggravated Identity Theft",
    "18:2113(a) Bank Robbery",
    "18:1956(h) Money Laundering Conspiracy",
    "26:7201 Tax Evasion",
    "18:2252A(a)(5)(B) Possession of Child Pornography",
)


class CriminalDocket(Docket):
    kind = "criminal"

    def entries(self, n_entries: int) -> Iterator[Entry]:
        self.draw_parties()
        yield self.charging()
        yield from self.run_events(n_entries - 1, self.events())

    def draw_parties(self) -> None:
        rng = self.rng
        self.defs = [self.person(suffix=True) for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3, 5)))]
        self.ausa = self.attorney()
        self.dfa = [self.attorney() for _ in self.defs]
        yy = self.date.year % 100
        self.casenum = f"{rng.randint(1, 8)}:{yy:02d}-cr-{rng.randint(1, 999):05d}"

    def counts(self, i: int) -> str:
        """The counts against defendant `i`, as "Name (1) count(s) 1, 3-5"."""
        rng = self.rng
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
        return f"{self.defs[i]} ({i + 1}) count(s) {', '.join(parts)}"

    def charging(self) -> Entry:
        """The first entry: the charging document."""
        rng = self.rng
        head = rng.choice(("INDICTMENT", "INDICTMENT", "SEALED INDICTMENT", "INFORMATION", "COMPLAINT"))
        cnt = ", ".join(self.counts(i) for i in range(len(self.defs)))
        if head == "COMPLAINT":
            return (
                "charging",
                "Complaint",
                f"COMPLAINT as to {', '.join(self.defs)} ({rng.choice(STATUTES)}). {self.clerk_sig()}",
            )
        forfeiture = " Forfeiture Allegation." if rng.random() < 0.3 else ""
        return "charging", "Indictment", f"{head} as to {cnt}.{forfeiture} {self.clerk_sig()}"

    def events(self) -> list[Event]:
        return [
            (0.8, self.arrest, None),
            (1.0, self.initial, None),
            (0.5, self.detention, None),
            (0.8, self.cja, None),
            (1.2, self.appearance, None),
            (0.8, self.arraign, None),
            (2.5, self.motion, None),
            (3.0, self.order_on_motion, lambda: bool(self.pending)),
            (1.0, self.response, lambda: bool(self.pending)),
            (0.6, self.plea, None),
            (0.5, self.judgment, None),
            (1.5, self.minute, None),
            (2.0, self.misc, None),
            (0.15, self.appeal, lambda: "judgment" in self.seen),
        ]

    def who(self) -> tuple[int, str]:
        rng = self.rng
        i = rng.randrange(len(self.defs))
        return i, self.defs[i]

    def arrest(self) -> Entry:
        i, n = self.who()
        return "arrest", "Arrest", f"Arrest of {n}. {self.clerk_sig()}"

    def initial(self) -> Entry:
        rng = self.rng
        i, n = self.who()
        bond = rng.choice(
            (
                "Bond set as to {n} ({i}) $" + str(rng.choice((5000, 10000, 25000, 50000))) + " Unsecured.",
                "Government moved for detention. Detention Hearing set for {dd} at {t}.",
                "Federal Defender appointed for {n}.",
                "Defendant remanded to custody of USMS.",
            )
        )
        bond = bond.format(n=n, i=i + 1, dd=self.mdy(self.future(2, 5)), t=self.time())
        sep = "\n" if rng.random() < 0.04 else " "
        tape = f"(Tape #{rng.randint(1, 99)}-{rng.randint(1, 999)}.)"
        return (
            "minute",
            "Minute Entry",
            self.minute_entry(
                f"Magistrate Judge {self.magistrate}", f"Initial Appearance as to {n}", f". {bond} {tape}", sep
            ),
        )

    def detention(self) -> Entry:
        i, n = self.who()
        return (
            "order",
            "Order of Detention",
            f"ORDER OF DETENTION PENDING TRIAL as to {n}. {self.signed(f'Magistrate Judge {self.magistrate}')}",
        )

    def cja(self) -> Entry:
        i, n = self.who()
        return (
            "appearance",
            "CJA 20",
            f"CJA 20 as to {n}: Appointment of Attorney {self.dfa[i][0]} for {n}. "
            f"{self.signed(f'Magistrate Judge {self.magistrate}')}",
        )

    def appearance(self) -> Entry:
        rng = self.rng
        if rng.random() < 0.4:
            return (
                "appearance",
                "Notice of Attorney Appearance",
                f"NOTICE OF ATTORNEY APPEARANCE {self.ausa[0]} appearing for USA. ({self.ausa[1]})",
            )
        i, n = self.who()
        return (
            "appearance",
            "Notice of Attorney Appearance",
            f"NOTICE OF ATTORNEY APPEARANCE: {self.dfa[i][0]} appearing for {n} ({self.dfa[i][1]})",
        )

    def arraign(self) -> Entry:
        rng = self.rng
        i, n = self.who()
        event = f"Arraignment as to {n} ({i + 1}) Count {rng.randint(1, 3)}"
        trial = (
            f". Plea entered by {n}: Not Guilty on all counts. {rng.choice(('Jury', 'Jury', 'Bench'))} Trial set "
            f"for {self.mdy(self.future(45, 120))} at {self.time()} before {self.judge_title} {self.judge}."
        )
        return "minute", "Arraignment", self.minute_entry(f"Magistrate Judge {self.magistrate}", event, trial)

    def motion(self) -> Entry:
        rng = self.rng
        if rng.random() < 0.2:
            long_name, short = rng.choice(MOTION_KINDS_CRIM)
            self.movant = "USA"
            return ("motion", short, f"{long_name} by USA as to {rng.choice(self.defs)}. ({self.ausa[1]})")
        i, n = self.who()
        self.movant = n
        long_name, short = rng.choice(MOTION_KINDS_CRIM)
        extra = " " + self.attachments() if rng.random() < 0.25 else ""
        return "motion", short, f"{long_name} by {n}.{extra} ({self.dfa[i][1]})"

    def order_on_motion(self) -> Entry:
        rng = self.rng
        n, lab, movant = self.pending.pop(rng.randrange(len(self.pending)))
        verb = rng.choice(("granting", "granting", "denying", "finding as moot"))
        body = self.order_body(self.long_k())
        return (
            "order",
            "Order",
            f"ORDER {verb} {self.ref(n)} {lab} as to {rng.choice(self.defs)} ({rng.randint(1, len(self.defs))}). "
            f"{body}{' ' if body else ''}{self.signed()}",
        )

    def response(self) -> Entry:
        rng = self.rng
        n, lab, movant = rng.choice(self.pending)
        return (
            "response",
            "Response",
            f"RESPONSE in Opposition by USA as to {rng.choice(self.defs)} re {self.ref(n)} {lab} ({self.ausa[1]})",
        )

    def plea(self) -> Entry:
        rng = self.rng
        i, n = self.who()
        if rng.random() < 0.5:
            return "plea", "Plea Agreement", f"PLEA AGREEMENT as to {n} {self.clerk_sig()}"
        judge = f"{self.judge_title} {self.judge}"
        plea = (
            f". Plea entered by {n} ({i + 1}) Guilty Count {rng.randint(1, 4)}. PSR Ordered. Sentencing set for "
            f"{self.mdy(self.future(80, 120))} at {self.time()} before {judge}."
        )
        return "minute", "Change of Plea", self.minute_entry(judge, f"Change of Plea Hearing as to {n}", plea)

    def judgment(self) -> Entry:
        rng = self.rng
        i, n = self.who()
        months = rng.choice((12, 18, 24, 30, 37, 46, 57, 60, 70, 84, 120, 151, 188, 240))
        body = (
            f"JUDGMENT as to {n} ({i + 1}), Count(s) {rng.randint(1, 3)}, Imprisonment for a term of {months} "
            f"months; Supervised Release for a term of {rng.choice((2, 3, 4, 5))} years; Special Assessment "
            f"$100.00."
        )
        if rng.random() < 0.3:
            body += (
                " Count(s) "
                + ", ".join(str(rng.randint(2, 20)) for _ in range(rng.randint(1, 4)))
                + ", Dismissed on the motion of the United States."
            )
        return "judgment", "Judgment", f"{body} {self.signed()}"

    def minute(self) -> Entry:
        rng = self.rng
        i, n = self.who()
        what = rng.choice(
            (
                "Status Conference",
                "Detention Hearing",
                "Pretrial Conference",
                "Motion Hearing",
                "Sentencing",
                "Bond Hearing",
            )
        )
        text = self.minute_entry(
            f"{self.judge_title} {self.judge}", f"{what} as to {n}", f". {self.order_body(self.long_k() // 2)}"
        )
        return "minute", "Minute Entry", text.replace("  ", " ")

    def misc(self) -> Entry:
        rng = self.rng
        i, n = self.who()
        t = rng.choice(
            (
                f"Arrest Warrant Returned Executed on {self.mdy(self.date)} in case as to {n}.",
                f"Sentencing Memorandum by {n}",
                f"NOTICE OF HEARING as to {n}: Status Conference set for {self.mdy(self.future())} at "
                f"{self.time()} "
                f"in {self.courtroom()} before {self.judge_title} {self.judge}.",
                f"WAIVER of Detention Hearing by {n}",
                f"Consent to Proceed Before Magistrate Judge as to {n}",
                f"Appearance Bond Entered as to {n} in amount of $ {rng.choice((10000, 25000, 50000))}",
                f"Order Setting Conditions of Release as to {n} ({i + 1}) $ {rng.choice((5000, 10000))} "
                f"Unsecured Bond. Signed by Magistrate Judge {self.magistrate} on {self.mdy(self.date)}.",
                f"Redacted Indictment as to {n}.",
                f"Case {self.casenum} as to {n} unsealed.",
            )
        )
        return "notice", "Notice", f"{t} {self.clerk_sig()}"

    def appeal(self) -> Entry:
        target = self.cite_label(("judgment",))
        i, n = self.who()
        re_ = f" re {self.ref(target[0])} {target[1]}" if target else ""
        return ("appeal", "Notice of Appeal", f"NOTICE OF APPEAL by {n}{re_} ({self.dfa[i][1]})")
