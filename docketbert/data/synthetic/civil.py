"""Civil dockets: complaint (or notice of removal) -> summons and appearances -> motions, responses and orders
-> scheduling, discovery and minute entries -> judgment, sometimes an appeal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from docketbert.data.synthetic.docket import Docket, Entry, Event
from docketbert.data.synthetic.vocabulary import AGENCIES, CITIES, MOTION_KINDS_CIVIL

REMOVAL_ATTACHMENTS = (
    "Exhibit A - State Court Complaint",
    "Civil Cover Sheet",
    "Exhibit B - Summons",
    "Notice to State Court",
    "Corporate Disclosure Statement",
)
COMPLAINT_ATTACHMENTS = (
    "Civil Cover Sheet",
    "Exhibit A",
    "Exhibit B",
    "Summons",
    "Summons",
    "Exhibit C",
    "Proposed Summons",
)


class CivilDocket(Docket):
    kind = "civil"

    def entries(self, n_entries: int) -> Iterator[Entry]:
        self.draw_parties()
        yield self.complaint()
        opening = self.opening()
        yield from opening
        yield from self.run_events(n_entries - 1 - len(opening), self.events())

    def draw_parties(self) -> None:
        rng = self.rng
        self.plaintiffs = [self.party(0.35) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        self.defendants = [self.party(0.6) for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]
        if rng.random() < 0.1:
            self.defendants[0] = "United States of America" if rng.random() < 0.5 else rng.choice(AGENCIES)
        self.p_att = [self.attorney() for _ in range(rng.randint(1, 3))]
        self.d_att = [self.attorney() for _ in range(rng.randint(1, 4))]
        self.pl, self.df = ", ".join(self.plaintiffs), ", ".join(self.defendants)
        self.removed = rng.random() < 0.2

    def side(self) -> tuple[list[str], list[tuple[str, str]]]:
        """The parties and attorneys of a random side."""
        if self.rng.random() < 0.45:
            return self.plaintiffs, self.p_att
        return self.defendants, self.d_att

    def complaint(self) -> Entry:
        """The first entry: a complaint, or a notice of removal from state court."""
        rng = self.rng
        fee = rng.choice(("350", "350", "400", "402", "405"))
        rcpt = f"{rng.choice(('', 'A', '0'))}{rng.randint(10**8, 10**10 - 1)}"
        paid = f"( Filing fee $ {fee} receipt number {rcpt})"
        if self.removed:
            sig = self.d_att[0][1]
            return (
                "complaint",
                "Notice of Removal",
                f"NOTICE OF REMOVAL from {rng.choice(CITIES)} County Circuit Court, case number "
                f"{rng.randint(10, 24)}-CV-{rng.randint(100, 99999)}. {paid}, filed by {self.df}. "
                f"{self.attachments(REMOVAL_ATTACHMENTS)}({sig})",
            )
        jury = " with Jury Demand" if rng.random() < 0.5 else ""
        what = rng.choice(
            (
                "",
                "",
                " for Declaratory Judgment",
                " for Damages",
                " for Breach of Contract",
                " for Violation of Civil Rights",
                " for Patent Infringement",
                " (CLASS ACTION)",
            )
        )
        att = " " + self.attachments(COMPLAINT_ATTACHMENTS) if rng.random() < 0.7 else ""
        return (
            "complaint",
            "Complaint",
            f"COMPLAINT{what}{jury} against {self.df} {paid}, filed by {self.pl}.{att}({self.p_att[0][1]})",
        )

    def opening(self) -> list[Entry]:
        """The clerk's entries that may follow the complaint: summons, cover sheet, assignment, disclosure."""
        rng = self.rng
        opening = []
        if rng.random() < 0.7:
            opening.append(("summons", "Summons Issued", f"Summons Issued as to {self.df}. {self.clerk_sig()}"))
        if rng.random() < 0.4:
            opening.append(("admin", "Civil Cover Sheet", f"Civil Cover Sheet. {self.clerk_sig()}"))
        if rng.random() < 0.5:
            opening.append(
                (
                    "admin",
                    "Case Assigned",
                    f"Case Assigned to {self.judge_title} {self.judge} and referred to Magistrate Judge "
                    f"{self.magistrate}. {self.clerk_sig()}",
                )
            )
        if rng.random() < 0.4:
            by = rng.choice(self.plaintiffs + self.defendants)
            parent = (
                f" identifying Corporate Parent {self.company()} for {self.defendants[0]}" if rng.random() < 0.4 else ""
            )
            opening.append(
                (
                    "disclosure",
                    "Corporate Disclosure Statement",
                    f"CORPORATE DISCLOSURE STATEMENT by {by}{parent}. ({self.p_att[0][1]})",
                )
            )
        return opening

    def events(self) -> list[Event]:
        return [
            (3.0, self.motion, None),
            (1.2, self.extension, lambda: "complaint" in self.seen),
            (2.0, self.appearance, None),
            (3.5, self.order_on_motion, lambda: bool(self.pending)),
            (2.0, self.response, lambda: bool(self.pending)),
            (0.8, self.answer, None),
            (0.8, self.affidavit_service, None),
            (0.5, self.scheduling, lambda: "sched" not in self.seen),
            (1.5, self.minute, None),
            (0.6, self.stipulation, None),
            (1.5, self.discovery, None),
            (0.25, self.transcript, None),
            (0.15, self.judgment, lambda: not self.closed),
            (0.1, self.appeal, lambda: self.closed),
        ]

    def motion(self) -> Entry:
        rng = self.rng
        parties, atts = self.side()
        long_name, short = rng.choice(MOTION_KINDS_CIVIL)
        movant = self.movant = rng.choice(parties)
        extra = ""
        if rng.random() < 0.5:
            extra = " " + self.attachments()
        if rng.random() < 0.15:
            extra += f" Motions referred to Magistrate Judge {self.magistrate}."
        target = self.cite_label(("complaint", "answer"))
        re_ = f" re {self.ref(target[0])} {target[1]}" if target and rng.random() < 0.35 else ""
        sig = rng.choice(atts)[1]
        resp = ""
        if rng.random() < 0.3:
            resp = f" Responses due by {self.mdy(self.future(14, 21))}"
        return "motion", short, f"{long_name}{re_} by {movant}.{resp}{extra} ({sig})"

    def extension(self) -> Entry:
        rng = self.rng
        target = self.cite_label(("complaint",))
        movant = self.movant = rng.choice(self.defendants)
        nth = rng.choice(("", "", "", "First ", "Second ", "Joint ", "Unopposed "))
        what = rng.choice(
            ("File Answer", "File Answer or Otherwise Respond", "File Response/Reply", "Complete Discovery")
        )
        re_ = f" re {self.ref(target[0])} {target[1]}" if target else ""
        return (
            "motion",
            "Motion for Extension of Time",
            f"{nth}MOTION for Extension of Time to {what}{re_} by {movant}. ({rng.choice(self.d_att)[1]})",
        )

    def appearance(self) -> Entry:
        rng = self.rng
        parties, atts = self.side()
        name, sig = rng.choice(atts)
        return (
            "appearance",
            "Notice of Appearance",
            f"NOTICE of Appearance by {name} on behalf of {', '.join(parties)} ({sig})",
        )

    def order_on_motion(self) -> Entry:
        rng = self.rng
        n, lab, movant = self.pending.pop(rng.randrange(len(self.pending)))
        verb = rng.choice(
            (
                "granting",
                "granting",
                "denying",
                "granting in part and denying in part",
                "finding as moot",
                "terminating",
            )
        )
        mag = rng.random() < 0.3
        judge = f"Magistrate Judge {self.magistrate}" if mag else f"{self.judge_title} {self.judge}"
        head = rng.choice(
            ("ORDER", "ORDER", "MINUTE ORDER", "MEMORANDUM AND ORDER", "ORDER AND REASONS", "OPINION AND ORDER")
        )
        body = self.order_body(self.long_k())
        lab_txt = lab
        if rng.random() < 0.4:
            lab_txt = f"{lab} filed by {movant}"
        signed = f" Signed by {judge} on {self.mdy(self.date)}." if rng.random() < 0.9 else ""
        return (
            "order",
            "Order",
            f"{head} {verb} {self.ref(n)} {lab_txt}. {body}{' ' if body else ''}{signed.strip()} {self.clerk_sig()}",
        )

    def response(self) -> Entry:
        rng = self.rng
        n, lab, movant = rng.choice(self.pending)
        parties, atts = self.side()
        kind = rng.choice(
            ("RESPONSE in Opposition", "MEMORANDUM in Opposition", "RESPONSE", "REPLY to Response", "REPLY in Support")
        )
        extra = " " + self.attachments() if rng.random() < 0.3 else ""
        return (
            "response",
            "Response",
            f"{kind} re {self.ref(n)} {lab} filed by {rng.choice(parties)}.{extra} ({rng.choice(atts)[1]})",
        )

    def answer(self) -> Entry:
        rng = self.rng
        target = self.cite_label(("complaint",))
        who = rng.choice(self.defendants)
        cc = " , COUNTERCLAIM against " + self.plaintiffs[0] if rng.random() < 0.15 else ""
        re_ = f" to {self.ref(target[0])} {target[1]}" if target else ""
        return (
            "answer",
            "Answer",
            f"ANSWER{re_}{cc} with Affirmative Defenses by {who}. ({rng.choice(self.d_att)[1]})",
        )

    def affidavit_service(self) -> Entry:
        rng = self.rng
        who = rng.choice(self.defendants)
        served = self.date - dt.timedelta(days=rng.randint(1, 20))
        return (
            "summons",
            "Summons Returned Executed",
            f"SUMMONS Returned Executed by {self.plaintiffs[0]}. {who} served on {self.mdy(served)}, answer due "
            f"{self.mdy(served + dt.timedelta(days=21))}. ({self.p_att[0][1]})",
        )

    def scheduling(self) -> Entry:
        rng = self.rng
        ds = sorted(self.future(30, 400) for _ in range(5))
        due = [self.mdy(x) for x in ds]
        body = (
            f"SCHEDULING ORDER: Amended Pleadings due by {due[0]}. Discovery due by {due[1]}. "
            f"Dispositive Motions due by {due[2]}. Final Pretrial Conference set for {due[3]} "
            f"at {self.time()} before {self.judge_title} {self.judge}. {rng.choice(('Jury', 'Bench'))} Trial set "
            f"for {due[4]} at {self.time()} in {self.courtroom()}. {self.signed()}"
        )
        return "sched", "Scheduling Order", body

    def minute(self) -> Entry:
        rng = self.rng
        what = rng.choice(
            (
                "Status Conference",
                "Motion Hearing",
                "Scheduling Conference",
                "Telephone Conference",
                "Settlement Conference",
                "Discovery Hearing",
                "Final Pretrial Conference",
            )
        )
        sep = "\n" if rng.random() < 0.04 else " "
        extra = rng.choice(
            (
                "",
                f" Court Reporter: {self.person(False)}.",
                " (Court Reporter: FTR Gold.)",
                f" Case set for further status conference on {self.mdy(self.future())} at {self.time()}.",
            )
        )
        n = ""
        if self.pending and rng.random() < 0.4:
            m = rng.choice(self.pending)
            n = f" re {self.ref(m[0])} {m[1]}"
        judge = f"{self.judge_title} {self.judge}"
        return "minute", "Minute Entry", self.minute_entry(judge, what, f"{n}.{extra}", sep)

    def stipulation(self) -> Entry:
        rng = self.rng
        what = rng.choice(
            (
                "of Dismissal with Prejudice",
                "of Dismissal without Prejudice",
                "to Extend Time to Answer",
                "for Entry of Protective Order",
                "Regarding Briefing Schedule",
            )
        )
        return (
            "stipulation",
            "Stipulation",
            f"STIPULATION {what} by {', '.join(self.plaintiffs + self.defendants)}. "
            f"({rng.choice(self.p_att + self.d_att)[1]})",
        )

    def discovery(self) -> Entry:
        rng = self.rng
        parties, atts = self.side()
        what = rng.choice(
            (
                "NOTICE of Service of Interrogatories",
                "NOTICE of Deposition of " + self.person(),
                "CERTIFICATE OF SERVICE of Initial Disclosures",
                "NOTICE of Service of Discovery",
                "Joint Discovery Plan",
                "REPORT of Rule 26(f) Planning Meeting",
                "NOTICE of Related Case",
            )
        )
        return "notice", "Notice", f"{what} by {rng.choice(parties)} ({rng.choice(atts)[1]})"

    def judgment(self) -> Entry:
        rng = self.rng
        t = rng.choice(
            (
                "in favor of " + self.defendants[0] + " against " + self.plaintiffs[0],
                "in favor of " + self.plaintiffs[0] + " against " + self.df,
                "dismissing the case with prejudice",
            )
        )
        self.closed = True
        return "judgment", "Judgment", f"JUDGMENT {t}. {self.signed()}"

    def appeal(self) -> Entry:
        rng = self.rng
        target = self.cite_label(("judgment", "order"))
        re_ = f" as to {self.ref(target[0])} {target[1]}" if target else ""
        return (
            "appeal",
            "Notice of Appeal",
            f"NOTICE OF APPEAL{re_} by {rng.choice(self.plaintiffs + self.defendants)}. Filing fee $ 505, receipt "
            "number "
            f"{rng.randint(10**8, 10**10 - 1)}. ({rng.choice(self.p_att + self.d_att)[1]})",
        )

    def transcript(self) -> Entry:
        rng = self.rng
        return (
            "transcript",
            "Transcript",
            f"TRANSCRIPT of Proceedings held on {self.mdy(self.date - dt.timedelta(days=rng.randint(5, 40)))}, "
            "before "
            f"{self.judge_title} {self.judge}. Court Reporter/Transcriber {self.person(False)}. Transcript may be "
            "viewed "
            f"at the court public terminal or purchased through the Court Reporter/Transcriber before the "
            f"deadline for Release of Transcript Restriction. After that date it may be obtained through PACER. "
            f"Redaction Request due {self.mdy(self.future(21, 21))}. Release of Transcript Restriction set for "
            f"{self.mdy(self.future(90, 90))}. {self.clerk_sig()}",
        )
