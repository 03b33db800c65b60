"""Bankruptcy dockets (chapters 7, 13 and 11): voluntary petition -> meeting of creditors -> schedules, notices
and BNC certificates -> motions, objections and orders -> plan confirmation, trustee's report, discharge."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from docketbert.data.synthetic.docket import Docket, Entry, Event
from docketbert.data.synthetic.vocabulary import AGENCIES, CITIES, MONTHS, MOTION_KINDS_BK, STREETS

FILING_FEES = {7: 299, 13: 313, 11: 1717}
VEHICLES = ("Ford F-150", "Honda Accord", "Toyota Camry", "Chevrolet Silverado", "Nissan Altima")
PROFESSIONALS = (
    "Counsel to the Debtor",
    "Special Counsel",
    "Financial Advisor to the Official Committee of Unsecured Creditors",
    "Accountants to the Trustee",
)


class BankruptcyDocket(Docket):
    kind = "bankruptcy"

    def entries(self, n_entries: int) -> Iterator[Entry]:
        self.draw_parties()
        yield self.petition()
        yield self.meeting()
        yield from self.run_events(n_entries - 2, self.events())

    def draw_parties(self) -> None:
        rng = self.rng
        self.chapter = rng.choices((7, 13, 11), (0.62, 0.32, 0.06))[0]
        joint = self.chapter != 11 and rng.random() < 0.35
        if self.chapter == 11:
            self.debtors = [self.company()]
        else:
            self.debtors = [self.person(suffix=True)] + ([self.person(suffix=True)] if joint else [])
        self.deb = ", ".join(("Debtor " if i == 0 else "Joint Debtor ") + x for i, x in enumerate(self.debtors))
        self.att = self.attorney()
        self.trustee = self.person()
        self.trustee_sig = f"({self.trustee.split()[-1]}, {self.trustee.split()[0]})"
        self.creditors = [
            self.company() if rng.random() < 0.8 else rng.choice(AGENCIES) for _ in range(rng.randint(2, 6))
        ]
        self.cred_att = [self.attorney() for _ in self.creditors]
        self.sig = f"({self.att[1]})"

    def petition(self) -> Entry:
        rng = self.rng
        chapter = self.chapter
        receipt = rng.randint(10**6, 10**8)
        incomplete = f" Incomplete Filings due by {self.mdy(self.future(14, 14))}." if rng.random() < 0.4 else "."
        return (
            "petition",
            "Voluntary Petition",
            f"Chapter {chapter} Voluntary Petition{' Individual' if chapter != 11 else ' Non-Individual'}. "
            f"Receipt Number {receipt}, Fee Amount ${FILING_FEES[chapter]} Filed by "
            f"{', '.join(self.debtors)}{incomplete} {self.sig}",
        )

    def meeting(self) -> Entry:
        """The notice of the 341(a) meeting of creditors, with the deadlines the chapter sets."""
        rng = self.rng
        meet = self.future(20, 40)
        mc = (
            f"Meeting of Creditors with 341(a) meeting to be held on {self.mmddyyyy(meet)} at {self.time()} at "
            f"{rng.choice(('Room', 'Suite'))} {rng.randint(100, 1200)}, {rng.randint(10, 999)} "
            f"{rng.choice(STREETS)}, {rng.choice(CITIES)}."
        )
        if self.chapter == 13:
            hearing = meet + dt.timedelta(days=rng.randint(20, 60))
            mc += (
                f" Confirmation hearing to be held on {self.mmddyyyy(hearing)} at {self.time()} at {self.courtroom()}."
            )
        if self.chapter != 7 or rng.random() < 0.3:
            mc += f" Proof of Claim due by {self.mmddyyyy(meet + dt.timedelta(days=90))}."
        if rng.random() < 0.6:
            objections_due = self.mmddyyyy(meet + dt.timedelta(days=60))
            mc += f" Objection to Dischargeability of Certain Debts due by {objections_due}."
        clerk = " " + self.clerk_sig() if rng.random() < 0.3 else ""
        return "meeting", f"Meeting (AutoAssign Chapter {self.chapter})", mc + clerk

    def events(self) -> list[Event]:
        chapter = self.chapter
        return [
            (3.0, self.bnc, None),
            (2.5, self.filing, None),
            (0.5, self.plan, lambda: chapter == 13),
            (1.5, self.nar, None),
            (2.0, self.motion, None),
            (2.5, self.order_on_motion, lambda: bool(self.pending)),
            (1.0, self.cos, None),
            (0.8, self.objection, None),
            (0.6, self.claim, None),
            (1.0, self.hearing, None),
            (0.4, self.confirm, lambda: "plan" in self.seen),
            (0.6, self.fee_app, lambda: chapter == 11),
            (1.0, self.notice, None),
            (0.3, self.discharge, lambda: chapter != 11 and not self.closed),
            (0.4, self.report, None),
        ]

    def creditor(self) -> tuple[str, tuple[str, str]]:
        """A random creditor and its attorney (full name, filer signature)."""
        i = self.rng.randrange(len(self.creditors))
        return self.creditors[i], self.cred_att[i]

    def bnc(self) -> Entry:
        rng = self.rng
        target = self.cite_label(("meeting", "order", "notice", "discharge"))
        dd = self.mmddyyyy(self.date)
        if target and rng.random() < 0.85:
            n, lab = target
            if rng.random() < 0.5:
                return (
                    "bnc",
                    "BNC Certificate of Notice",
                    f"BNC Certificate of Notice (RE: related document(s){n} {lab}). Notice Date {dd}. (Admin.)",
                )
            return (
                "bnc",
                "BNC Certificate of Mailing",
                f"BNC Certificate of Mailing - {lab} (related document(s) {n} {lab}) No. of Notices: "
                f"{rng.randint(1, 60)}. Service Date {dd}. (Admin.)",
            )
        return (
            "bnc",
            "BNC Certificate of Mailing",
            f"BNC Certificate of Mailing - Meeting of Creditors. Service Date {dd}. (Admin.)",
        )

    def filing(self) -> Entry:
        rng = self.rng
        t = rng.choice(
            (
                "Certificate of Credit Counseling",
                "Schedules A/B, D, E/F, G, H, Summary of Assets and Liabilities and Certain Statistical Information",
                "Statement of Financial Affairs",
                "Declaration Concerning Debtor's Schedules",
                "Employee Income Records",
                f"Chapter {self.chapter} Statement of Your Current Monthly Income",
                "Statement of Intention",
                "Verification of Creditor Matrix",
                "Statement About Your Social Security Numbers",
                "Amended Schedules I and J",
                "Disclosure of Compensation of Attorney for Debtor",
            )
        )
        attached = rng.random() < 0.2
        extra = " " + self.attachments(("cc", "pay stubs", "Creditor Matrix", "Exhibit A")) if attached else ""
        return "filing", t, f"{t} Filed by {self.deb}.{extra} {self.sig}"

    def plan(self) -> Entry:
        return "plan", "Chapter 13 Plan", f"Chapter 13 Plan Filed by {self.deb}. {self.sig}"

    def nar(self) -> Entry:
        creditor, (lawyer, lawyer_sig) = self.creditor()
        return (
            "appearance",
            "Notice of Appearance",
            f"Notice of Appearance and Request for Notice by {lawyer} Filed by Creditor {creditor}. ({lawyer_sig})",
        )

    def motion(self) -> Entry:
        rng = self.rng
        long_name, short = rng.choice(MOTION_KINDS_BK)
        if short in ("Motion for Relief From Stay", "Motion to Value Collateral"):
            creditor, (lawyer, lawyer_sig) = self.creditor()
            collat = rng.choice(
                (
                    f"{rng.randint(100, 9999)} {rng.choice(STREETS)}, {rng.choice(CITIES)}",
                    f"{rng.randint(1998, self.date.year)} {rng.choice(VEHICLES)}",
                )
            )
            fee_txt = " Fee Amount $188," if short == "Motion for Relief From Stay" else ""
            self.movant = f"Creditor {creditor}"
            return (
                "motion",
                short,
                f"{long_name} as to {collat}.{fee_txt} Filed by Creditor {creditor}. Hearing scheduled "
                "for "
                f"{self.mmddyyyy(self.future(14, 35))} at {self.time()} at {self.courtroom()}. Objections due by "
                f"{self.mmddyyyy(self.future(7, 14))}. ({lawyer_sig})",
            )
        by = self.movant = f"Trustee {self.trustee}" if short == "Motion to Dismiss Case" else self.deb
        return "motion", short, f"{long_name} Filed by {by}. {self.sig}"

    def order_on_motion(self) -> Entry:
        rng = self.rng
        n, lab, movant = self.pending.pop(rng.randrange(len(self.pending)))
        verb = rng.choice(("Granting", "Granting", "Denying", "Granting in Part"))
        body = self.order_body(max(0, self.long_k() - 1))
        if rng.random() < 0.5:
            return (
                "order",
                "Order",
                f"Order {verb} {lab} (Related Doc # {n}). {body}{' ' if body else ''}{self.clerk_sig()}",
            )
        return (
            "order",
            "Order",
            f"Order {verb} {lab}. {body}{' ' if body else ''}(RE: related document(s){n} {lab} filed by "
            f"{movant}). Signed on {self.mdy(self.date)}. {self.clerk_sig()}",
        )

    def cos(self) -> Entry:
        target = self.cite_label(("motion", "plan", "order", "filing"))
        if target:
            n, lab = target
            return (
                "cos",
                "Certificate of Service",
                f"Certificate of Service (RE: related document(s){n} {lab}) Filed by {self.deb}. {self.sig}",
            )
        return "cos", "Certificate of Service", f"Certificate of Service Filed by {self.deb}. {self.sig}"

    def objection(self) -> Entry:
        rng = self.rng
        target = self.cite_label(("plan", "motion", "claim"))
        re_ = f" (related document(s):{target[0]} {target[1]})" if target else ""
        if self.chapter == 13 and rng.random() < 0.5:
            return (
                "objection",
                "Objection",
                f"Trustee's Objection to Confirmation of Plan{re_} Filed by Trustee {self.trustee}. {self.trustee_sig}",
            )
        creditor, (lawyer, lawyer_sig) = self.creditor()
        return (
            "objection",
            "Objection",
            f"Objection to {target[1] if target else 'Debtor Claim of Exemptions'}{re_} Filed by Creditor "
            f"{creditor}. "
            f"({lawyer_sig})",
        )

    def claim(self) -> Entry:
        rng = self.rng
        creditor, (lawyer, lawyer_sig) = self.creditor()
        return (
            "claim",
            "Transfer of Claim",
            f"Transfer of Claim. Transfer Agreement 3001 (e) 2 Transferors: {creditor} (Claim No. "
            f"{rng.randint(1, 40)}) To {self.company()}. Fee Amount $26 Filed by Creditor {self.company()}. "
            f"({lawyer_sig})",
        )

    def hearing(self) -> Entry:
        rng = self.rng
        target = self.pending[-1] if self.pending else None
        re_ = f" (RE: related document(s){target[0]} {target[1]} filed by {target[2]})" if target else ""
        outcome = rng.choice(
            (
                "Granted.",
                "Denied.",
                "Continued.",
                "Order to be submitted.",
                "Granted as per terms stated on the record. Submit Order.",
            )
        )
        return (
            "hearing",
            "Hearing Held",
            f"Hearing Held{re_}. {outcome} Hearing continued to {self.mmddyyyy(self.future(14, 45))} at "
            f"{self.time()}."
            f" {self.clerk_sig()}",
        )

    def confirm(self) -> Entry:
        target = self.cite_label(("plan",))
        re_ = f" (Related Doc # {target[0]})" if target else ""
        return (
            "order",
            "Order Confirming Plan",
            f"Order Confirming Chapter {self.chapter} Plan{re_}. {self.clerk_sig()}",
        )

    def fee_app(self) -> Entry:
        rng = self.rng
        who_ = self.movant = self.firm()
        k = rng.randint(1, 4)
        start = self.date - dt.timedelta(days=30 * k)
        body = self.order_body(self.long_k()) if rng.random() < 0.5 else ""
        return (
            "motion",
            "Application for Compensation",
            f"{rng.choice(('First', 'Second', 'Third', 'Final', 'Interim'))} Application for Compensation and "
            f"Reimbursement of Expenses of {who_}, as {rng.choice(PROFESSIONALS)}"
            f" for the Period of {MONTHS[start.month - 1]} {start.day}, {start.year} through "
            f"{MONTHS[self.date.month - 1]} {self.date.day}, {self.date.year}, Fee: "
            f"${rng.randint(2000, 900000):,}.00, "
            f"Expenses: ${rng.randint(10, 40000):,}.{rng.randint(0, 99):02d}. Filed by {who_}. Objections due "
            f"by {self.mdy(self.future(14, 21))}. {body}{' ' if body else ''}{self.attachments()} {self.sig}",
        )

    def notice(self) -> Entry:
        rng = self.rng
        t = rng.choice(
            (
                "Notice of Requirement to Complete Course in Financial Management",
                "Notice of Deficient Filing",
                "Notice of Possible Dividends",
                "Notice of Claims Bar Date",
                "Notice of Assets and Request for Proofs of Claim",
                "Notice of Intent to Dismiss Case for Failure to File Documents",
            )
        )
        return "notice", t, f"{t}. {self.clerk_sig() if rng.random() < 0.6 else '(Admin)'}"

    def discharge(self) -> Entry:
        self.closed = True
        return (
            "discharge",
            "Order Discharging Debtor",
            f"ORDER DISCHARGING DEBTOR(S) {', '.join(self.debtors)}. {self.clerk_sig()}",
        )

    def report(self) -> Entry:
        rng = self.rng
        if self.chapter == 7:
            assets = rng.randint(0, 400000)
            return (
                "report",
                "Trustee's Report",
                f"Chapter 7 Trustee's Report of No Distribution: I, {self.trustee}, having been appointed trustee "
                "of "
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
                f"discharge): $ {rng.randint(5000, 900000):,}.00. {self.trustee_sig}",
            )
        return (
            "report",
            "Trustee's Report",
            f"Chapter {self.chapter} Trustee's "
            f"{rng.choice(('Report', 'Final Report and Account', 'Notice of Plan Completion'))}"
            f" Filed by Trustee {self.trustee}. {self.trustee_sig}",
        )
