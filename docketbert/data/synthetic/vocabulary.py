"""The word pools and fixed texts the synthetic dockets draw from.

Common given names and surnames, made-up firm and company words, generic court codes, motion names,
boilerplate entries and sentences for text orders. Combinations are drawn at random; nothing names a
real party, case or court.
"""

# fmt: off
# The pools are kept as compact tables; one word a line would hide them.


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
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
)
LAST = _words(
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
)
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
CO_SUF = (", Inc.", ", LLC", ", L.L.C.", " Corp.", " Corporation", " Co.", " Company", ", LP", ", Ltd.", " Inc.",
          ", P.C.")
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

# Court codes are a state and "d" (district) or "b" (bankruptcy); the text never names the court.
STATES = ("al", "ak", "az", "ar", "ca", "co", "ct", "de", "fl", "ga", "hi", "id", "il", "in", "ia", "ks", "ky",
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


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
MODIFIED = ("to correct docket text", "to edit filer", "to add attachment", "to correct filing date",
            "to link to related document", "TO CLARIFY DOCKET TEXT", "to reflect correct event")
# fmt: on
