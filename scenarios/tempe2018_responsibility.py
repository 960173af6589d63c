"""Who was responsible for the Tempe crash, and what followed: the facts as data, with sources.

The NTSB's technical record (what the software saw and did) is `scenarios.tempe2018`. This module
holds the rest of the story a case study needs: the people and institutions, the NTSB's probable
cause and contributing factors, the operator's attention over the trip, what happened in the
courts and the company afterwards, and the frameworks a course holds the case against.

Every fact carries a certainty mark and at least one source (with a link where one is known):

  Q  quoted from the primary record (the NTSB's, a court's or a standard's own words, seen in a
     faithful copy or quoted word for word by several outlets)
  P  the primary or official record's content, known through a paraphrase
  D  derived by arithmetic from other facts
  S  secondary source only: press reporting of an official act, a statement or a document
  U  an assumption, or a claim this project could not confirm

`Fact.checked` says how the wording was checked against its source; an empty string means it
was taken from the project's facts sheet and not checked again.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios import tempe2018

CERTAINTY = {
    "Q": "quoted from the primary record (the NTSB's, a court's or a standard's own words)",
    "P": "the primary or official record's content, known through a paraphrase",
    "D": "derived by arithmetic from other facts",
    "S": "secondary source only: press reporting of an official act, a statement or a document",
    "U": "an assumption, or a claim this project could not confirm",
}


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str
    date: str  # as published ("19 November 2019"), or "" where none is given
    url: str  # "" where no stable link is known
    primary: bool = False  # the NTSB's own documents, a standard, a paper
    short: str = ""  # how the page cites it; default: "publisher, date"

    @property
    def label(self) -> str:
        if self.short:
            return self.short
        if not self.publisher:
            return self.title
        return f"{self.publisher}, {self.date}" if self.date else self.publisher

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Fact:
    id: str
    text: str  # one or two plain sentences; quotations in double quotes
    certainty: str  # Q, P, D, S or U
    sources: tuple[str, ...]  # Source ids
    topic: str  # "people", "ntsb", "attention", "design", "after", "frameworks"
    checked: str = ""  # how the wording was checked against its source
    values: tuple[float, ...] = ()  # the numbers in the text, where a figure or a run uses them
    unit: str = ""  # of `values`

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _index(*items):
    out = {}
    for item in items:
        if item.id in out:
            raise ValueError(f"duplicate id {item.id!r}")
        out[item.id] = item
    return out


NTSB_FINAL = "ntsb-har-19-03"
NTSB_PRELIM = "ntsb-prelim"
NTSB_DOCKET = "ntsb-docket"

SOURCES: dict[str, Source] = _index(
    Source(
        NTSB_FINAL,
        "Collision Between Vehicle Controlled by Developmental Automated Driving System and "
        "Pedestrian, Tempe, Arizona, March 18, 2018, Highway Accident Report NTSB/HAR-19/03",
        "National Transportation Safety Board",
        "19 November 2019",
        "https://www.ntsb.gov/investigations/AccidentReports/Reports/HAR1903.pdf",
        primary=True,
        short="NTSB/HAR-19/03",
    ),
    Source(
        NTSB_PRELIM,
        "Preliminary Report, Highway HWY18MH010",
        "National Transportation Safety Board",
        "24 May 2018",
        "https://www.ntsb.gov/investigations/AccidentReports/Reports/HWY18MH010-prelim.pdf",
        primary=True,
        short="NTSB preliminary report",
    ),
    Source(
        NTSB_DOCKET,
        "Investigation HWY18MH010 and its docket (Vehicle Automation Report, Human Performance "
        "Report)",
        "National Transportation Safety Board",
        "2019",
        "https://www.ntsb.gov/investigations/Pages/HWY18MH010.aspx",
        primary=True,
        short="NTSB docket HWY18MH010",
    ),
    Source(
        "kjzz-2018-03-19",
        "Uber Self-Driving Vehicle Hits, Kills Pedestrian In Tempe",
        "KJZZ",
        "19 March 2018",
        "https://kjzz.org/content/623430/uber-self-driving-vehicle-hits-kills-pedestrian-tempe",
    ),
    Source(
        "jalopnik-2018-05",
        "Why Volvo's Auto-Braking System Might Have Kept The Self-Driving Uber Crash From Being "
        "Fatal (quotes the NTSB preliminary report)",
        "Jalopnik",
        "May 2018",
        "http://jalo.ps/jIM6775",
    ),
    Source(
        "bodyshop-2018-05",
        "NTSB: Automated Emergency Braking Wasn't Enabled Prior to Uber Crash that Killed "
        "Pedestrian (quotes the NTSB's news release)",
        "BodyShop Business",
        "May 2018",
        "https://www.bodyshopbusiness.com/ntsb-automated-emergency-braking-wasnt-enabled-prior-"
        "to-uber-crash-that-killed-pedestrian/",
    ),
    Source(
        "transportationtoday-2018-05",
        "NTSB releases preliminary report on fatal Uber crash",
        "Transportation Today",
        "May 2018",
        "https://transportationtodaynews.com/news/9536-ntsb-releases-preliminary-report-fatal-"
        "uber-crash",
    ),
    Source(
        "dpa-2018-06-22",
        "Uber Driver In Crash Was Mesmerized By 'The Voice' (dpa-AFX, on the Tempe police report)",
        "finanznachrichten.de",
        "22 June 2018",
        "https://www.finanznachrichten.de/nachrichten-2018-06/44118204-uber-driver-in-crash-was-"
        "mesmerized-by-the-voice-020.htm",
    ),
    Source(
        "fortune-2018-06-22",
        "Arizona Uber Driver Was Streaming 'The Voice' on Hulu Before Fatal Self-Driving Car Crash",
        "Fortune",
        "22 June 2018",
        "https://fortune.com/2018/06/22/self-driving-uber-crash-hulu-arizona",
    ),
    Source(
        "geekwire-2018-06",
        "Police say Uber safety driver was streaming TV show before self-driving car hit and "
        "killed woman",
        "GeekWire",
        "June 2018",
        "https://www.geekwire.com/2018/police-say-uber-safety-driver-streaming-tv-show-self-"
        "driving-car-hit-killed-woman/",
    ),
    Source(
        "12news-2018-06",
        "Report: Safety driver involved in fatal self-driving Uber crash was watching Hulu",
        "12News (KPNX)",
        "June 2018",
        "https://12news.com/article/news/local/valley/report-safety-driver-involved-in-fatal-"
        "self-driving-uber-crash-was-watching-hulu/75-566585455",
    ),
    Source(
        "triblive-2018-06",
        "Report: Uber driver streaming 'The Voice' just before fatal crash",
        "TribLIVE (Pittsburgh Tribune-Review)",
        "22 June 2018",
        "http://triblive.com/business/technology/13789710-74/report-uber-driver-streaming-the-"
        "voice-just-before-fatal-crash",
    ),
    Source(
        "bi-2018-11",
        "Uber removed the second backup driver from its self-driving cars ahead of the crash "
        "that killed an Arizona pedestrian",
        "Business Insider",
        "November 2018",
        "https://www.businessinsider.com/uber-removed-second-driver-from-self-driving-cars-"
        "before-deadly-crash-2018-11",
    ),
    Source(
        "techcrunch-2018-03-26",
        "Uber blocked from testing self-driving cars on Arizona roads",
        "TechCrunch",
        "26 March 2018",
        "https://techcrunch.com/2018/03/26/uber-blocked-from-testing-self-driving-cars-on-"
        "arizona-roads/",
    ),
    Source(
        "fox10-2018-03-26",
        "Governor directs ADOT to suspend Uber's ability to test autonomous cars on AZ roads "
        "(quotes the governor's letter)",
        "FOX 10 Phoenix",
        "26 March 2018",
        "https://www.fox4news.com/news/governor-directs-adot-to-suspend-ubers-ability-to-test-"
        "autonomous-cars-on-az-roads",
    ),
    Source(
        "azrepublic-2018-03-30",
        "Uber death case resolved: family, self-driving car company find agreement",
        "The Arizona Republic",
        "30 March 2018",
        "http://www.pressreader.com/usa/the-arizona-republic/20180330/281865824026750",
    ),
    Source(
        "ap-2018-05-23",
        "Uber puts brakes on self-driving car operation in Arizona (AP)",
        "NBC12 / Associated Press",
        "23 May 2018",
        "http://www.nbc12.com/story/38260340/uber-puts-brakes-on-self-driving-car-operation-in-"
        "arizona",
    ),
    Source(
        "thedrive-2018-05",
        "Uber Will Withdraw Its Self-Driving Cars From Arizona",
        "The Drive",
        "May 2018",
        "https://www.thedrive.com/news/21062/uber-will-withdraw-its-self-driving-cars-from-arizona",
    ),
    Source(
        "ktar-2018-06-01",
        "Maricopa County prosecutors hand fatal Uber crash case to another office",
        "KTAR News",
        "1 June 2018",
        "https://ktar.com/story/2090762/maricopa-county-prosecutors-hand-fatal-uber-crash-case-"
        "to-another-office/",
    ),
    Source(
        "abc15-2019-03-05",
        "Yavapai County Attorney clears Uber in deadly self-driving car crash",
        "ABC15 Arizona",
        "5 March 2019",
        "https://abc15.com/news/region-southeast-valley/tempe/yavapai-county-attorney-clears-"
        "uber-in-deadly-self-driving-car-crash",
    ),
    Source(
        "reuters-2019-03-05",
        "Uber not criminally liable in 2018 fatal self-driving crash: prosecutors (Reuters)",
        "CNA / Reuters",
        "5 March 2019",
        "https://www.channelnewsasia.com/news/business/uber-law-fatal-self-driving-crash-2018-"
        "prosecutors-11315264",
    ),
    Source(
        "autonews-2019-08",
        "After death of pedestrian, what have we learned?",
        "Automotive News",
        "10 August 2019",
        "https://www.autonews.com/commentary/after-death-pedestrian-what-have-we-learned",
    ),
    Source(
        "yahoo-2019-11-19",
        "NTSB cites distracted safety driver as fault in fatal Uber crash",
        "Yahoo News",
        "19 November 2019",
        "https://news.yahoo.com/ntsb-cites-distracted-safety-driver-155847206.html",
    ),
    Source(
        "reuters-2019-11-19",
        "U.S. safety board chair criticizes Uber for 2018 fatal self-driving crash (Reuters)",
        "Financial Post / Reuters",
        "19 November 2019",
        "https://business.financialpost.com/pmn/business-pmn/u-s-safety-board-chair-criticizes-"
        "uber-for-2018-fatal-self-driving-crash",
    ),
    Source(
        "knau-2019-11-20",
        "Safety Agency Says Distracted Driver Caused Fatal Uber Crash In Tempe",
        "KNAU Arizona Public Radio",
        "20 November 2019",
        "https://www.knau.org/knau-and-arizona-news/2019-11-20/safety-agency-says-distracted-"
        "driver-caused-fatal-uber-crash-in-tempe",
    ),
    Source(
        "azrepublic-2019-11-20",
        "NTSB: Driver mostly to blame for Uber crash",
        "The Arizona Republic",
        "20 November 2019",
        "https://www.pressreader.com/usa/the-arizona-republic/20191120/282338271712720",
    ),
    Source(
        "leftlane-2019-11-21",
        "NTSB releases report on fatal Uber self-driving accident",
        "Left Lane News",
        "21 November 2019",
        "https://leftlanenews.com/2019/11/21/ntsb-releases-report-on-fatal-uber-self-driving-"
        "accident/",
    ),
    Source(
        "phoenixnewtimes-2020-09",
        "Uber Backup Driver Indicted in 2018 Self-Driving Crash That Killed Woman",
        "Phoenix New Times",
        "September 2020",
        "https://www.phoenixnewtimes.com/news/uber-backup-driver-in-phoenix-indicted-over-fatal-"
        "self-driving-car-crash-in-18-11494111",
    ),
    Source(
        "times-2020-12-08",
        "Uber sells self-driving car project to smaller start-up",
        "The Times",
        "8 December 2020",
        "https://www.thetimes.co.uk/article/uber-sells-self-driving-car-project-to-smaller-"
        "start-up-7wdpthtfp",
    ),
    Source(
        "abc15-2022-07-01",
        "Defense claims woman falsely charged for Uber crash",
        "ABC15 Arizona",
        "1 July 2022",
        "https://www.abc15.com/news/local-news/investigations/defense-claims-woman-falsely-"
        "charged-for-uber-crash",
    ),
    Source(
        "ap-2023-07-28",
        "The backup driver in the 1st death by a fully autonomous car pleads guilty to "
        "endangerment (AP)",
        "KDVR / Associated Press",
        "28 July 2023",
        "https://kdvr.com/news/nationalworld-news/ap-us-news/ap-the-backup-driver-in-the-1st-"
        "death-by-a-fully-autonomous-car-pleads-guilty-to-endangerment/",
    ),
    Source(
        "iso-21448",
        "ISO 21448:2022 Road vehicles: Safety of the intended functionality (first published as "
        "ISO/PAS 21448:2019)",
        "International Organization for Standardization",
        "2022",
        "https://www.iso.org/standard/77490.html",
        primary=True,
        short="ISO 21448",
    ),
    Source(
        "ul-4600",
        "UL 4600 Standard for Evaluation of Autonomous Products, first edition",
        "Underwriters Laboratories",
        "2020",
        "https://webstore.ansi.org/standards/ul/ul4600ed2020",
        primary=True,
        short="UL 4600",
    ),
    Source(
        "sae-j3016",
        "SAE J3016 Taxonomy and Definitions for Terms Related to Driving Automation Systems for "
        "On-Road Motor Vehicles (issued January 2014, revised September 2016)",
        "SAE International",
        "September 2016",
        "http://standards.sae.org/J3016_201609",
        primary=True,
        short="SAE J3016",
    ),
    Source(
        "acm-code",
        "ACM Code of Ethics and Professional Conduct",
        "Association for Computing Machinery",
        "2018",
        "https://www.acm.org/code-of-ethics",
        primary=True,
        short="ACM Code of Ethics",
    ),
    Source(
        "bainbridge-1983",
        "Ironies of Automation, Automatica 19(6), 775-779",
        "Lisanne Bainbridge",
        "1983",
        "https://doi.org/10.1016/0005-1098%2883%2990046-8",
        primary=True,
        short="Bainbridge 1983",
    ),
    Source(
        "derived",
        "derived by arithmetic from the other facts",
        "",
        "",
        "",
    ),
    Source(
        "assumption",
        "an assumption of this simulation",
        "",
        "",
        "",
    ),
    Source(
        "washingtontimes-2011-12-14",
        "Feds urge states to ban texting, talking on roads",
        "The Washington Times",
        "14 December 2011",
        "http://www.washingtontimes.com/news/2011/dec/14/feds-urge-states-to-ban-texting-talking-"
        "on-roads/?page=2",
    ),
    Source(
        "lecture-notes",
        "the course's lecture notes (Uber pedestrian accident)",
        "",
        "",
        "",
    ),
    Source(
        "not-found",
        "not found in the sources this project checked",
        "",
        "",
        "",
    ),
    Source(
        "secondary-ntsb",
        "secondary accounts of the NTSB reports",
        "",
        "",
        "",
    ),
    Source(
        "secondary-volvo",
        "secondary accounts of Volvo's simulations, not seen in a primary source by this project",
        "",
        "",
        "",
    ),
)

# The technical record's source titles (scenarios.tempe2018) -> sources here, for linking.
RECORD_SOURCES = {
    tempe2018.FINAL: NTSB_FINAL,
    tempe2018.VAR: NTSB_DOCKET,
    tempe2018.PRELIM: NTSB_PRELIM,
    tempe2018.SECONDARY: "secondary-ntsb",
    tempe2018.DERIVED: "derived",
    tempe2018.ASSUMPTION: "assumption",
    "secondary summary of the NTSB board meeting (19 Nov 2019)": "secondary-ntsb",
    # the outside record (tempe2018.OUTSIDE)
    tempe2018.OUTSIDE["volvo-simulation"].source: "secondary-volvo",
    tempe2018.OUTSIDE["police-avoidable"].source: "geekwire-2018-06",
}


def record_sources(fact: tempe2018.Fact) -> tuple[Source, ...]:
    """The Sources behind a fact of the technical record (its `source` may list several, ';')."""
    out = []
    for title in fact.source.split("; "):
        key = RECORD_SOURCES.get(title.strip())
        if key is None:
            raise KeyError(f"record source {title!r} of fact {fact.id!r} has no Source entry")
        out.append(SOURCES[key])
    return tuple(out)


FACTS: dict[str, Fact] = _index(
    # --- The people ---------------------------------------------------------------------------
    Fact(
        "herzberg",
        "Elaine Herzberg, 49, was crossing Mill Avenue near Curry Road with her bicycle, not in "
        "a crosswalk, when the car struck her; she died in hospital.",
        "S",
        ("kjzz-2018-03-19",),
        "people",
        "KJZZ report of the Tempe police statement, 19 March 2018",
    ),
    Fact(
        "entered-from-median",
        "She entered the road from a brick-paved median; her toxicology tests were positive for "
        "methamphetamine and marijuana; video shows she did not look toward the car until just "
        "before impact.",
        "P",
        (NTSB_PRELIM, "transportationtoday-2018-05"),
        "people",
        "press summaries of the preliminary report",
    ),
    Fact(
        "median-site",
        "At the site a year later, signs telling pedestrians to use the crosswalk still faced the "
        "road rather than people on the median, brick footpaths crossed the median, and a dozen "
        "pedestrians in an hour crossed where she had.",
        "S",
        ("autonews-2019-08",),
        "people",
        "Automotive News site visit, August 2019",
    ),
    Fact(
        "family-claim",
        "Her family filed a claim against the City of Tempe saying the median's brick pathway "
        '"is clearly designed to accommodate people to cross".',
        "S",
        ("abc15-2019-03-05",),
        "people",
        "ABC15, 5 March 2019",
    ),
    Fact(
        "one-operator",
        "Uber's test cars had carried two employees, one at the wheel and one watching the "
        "system and logging data; in 2017 Uber moved most cars to a single operator, who then "
        "did both jobs.",
        "S",
        ("bi-2018-11",),
        "people",
        "Business Insider, November 2018; the NTSB report describes the change (P, not checked "
        "here)",
    ),
    Fact(
        "miles-doubled",
        "Employees told reporters the change let Uber log twice the test miles with the same "
        "number of operators.",
        "S",
        ("bi-2018-11",),
        "people",
        "Business Insider, November 2018",
    ),
    Fact(
        "operator-duties",
        '"The operator is responsible for monitoring diagnostic messages that appear on an '
        "interface in the center stack of the vehicle dash and tagging events of interest for "
        'subsequent review."',
        "Q",
        (NTSB_PRELIM, "jalopnik-2018-05"),
        "people",
        "quoted word for word from the preliminary report by Jalopnik",
    ),
    Fact(
        "relies-on-operator",
        '"According to Uber, the developmental self-driving system relies on an attentive '
        'operator to intervene if the system fails to perform appropriately during testing."',
        "Q",
        (NTSB_PRELIM, "jalopnik-2018-05"),
        "people",
        "quoted word for word from the preliminary report by Jalopnik",
    ),
    Fact(
        "no-attention-monitor",
        "Uber banned phone use by operators and checked with an in-car camera and periodic spot "
        "checks, but had no system monitoring operators' attention, a spokesperson said.",
        "S",
        ("triblive-2018-06",),
        "people",
        "TribLIVE, 22 June 2018",
    ),
    Fact(
        "volvo-functions-off",
        "Volvo's factory functions (collision avoidance with automatic emergency braking, called "
        "City Safety, driver-alertness detection and road-sign information) were all disabled "
        "in computer control and worked in manual control.",
        "P",
        (NTSB_PRELIM, "jalopnik-2018-05"),
        "design",
        "press quotations of the preliminary report",
    ),
    Fact(
        "erratic-behavior",
        "According to Uber, emergency braking manoeuvres were not enabled under computer control "
        '"to reduce the potential for erratic vehicle behavior"; the operator was relied on to '
        "intervene, and the system was not designed to alert her.",
        "Q",
        (NTSB_PRELIM, "bodyshop-2018-05"),
        "design",
        "the NTSB's news release on the preliminary report, quoted by BodyShop Business",
    ),
    Fact(
        "no-jaywalking-consideration",
        "The system design did not include a consideration for jaywalking pedestrians.",
        "P",
        (NTSB_FINAL, "azrepublic-2019-11-20"),
        "design",
        "paraphrased by the Arizona Republic and quoted in secondary accounts",
    ),
    Fact(
        "volvo-motive-unknown",
        "Why the Volvo's own functions were switched off in computer control, and whether Volvo "
        "knew or agreed, is not given in the sources this project checked.",
        "U",
        ("not-found",),
        "design",
    ),
    Fact(
        "motive-not-recorded",
        "The record describes this behaviour; the sources this project checked do not say why it "
        "was designed so.",
        "U",
        ("not-found",),
        "design",
    ),
    Fact(
        "notes-learned-crosswalk",
        "The lecture notes say the system had learned to identify pedestrians in crosswalks, a "
        "correlated feature; the NTSB's record describes a design assumption instead.",
        "U",
        ("lecture-notes",),
        "design",
        "the notes' wording; not found in the NTSB record",
    ),
    # --- The operator's attention -------------------------------------------------------------
    Fact(
        "operator-to-ntsb",
        "In a post-crash interview with the NTSB the operator said she had been monitoring the "
        "self-driving system's interface, and that her personal and business phones were in the "
        "car but neither was in use until after the crash.",
        "P",
        (NTSB_PRELIM, "dpa-2018-06-22"),
        "attention",
        "press summaries of the preliminary report",
    ),
    Fact(
        "police-hulu",
        "Tempe police obtained records from Hulu showing that the operator's account streamed "
        "The Voice from 9:16 pm until 9:59 pm, about the time of the crash.",
        "S",
        ("12news-2018-06", "fortune-2018-06-22"),
        "attention",
        "12News and Fortune on the Tempe police report, June 2018",
        (21 * 60 + 16, 21 * 60 + 59),
        "minutes after midnight",
    ),
    Fact(
        "police-looking-down",
        "Police review of the in-car video found her looking down for 31 percent of the nearly "
        "22 minutes before the crash.",
        "S",
        ("dpa-2018-06-22",),
        "attention",
        "dpa-AFX on the Tempe police report, 22 June 2018",
        (0.31, 22.0),
        "share of the time, minutes",
    ),
    Fact(
        "police-glance",
        "The police report put her glance up to the road about 0.5 s before impact.",
        "S",
        ("fortune-2018-06-22",),
        "attention",
        "Fortune and others on the Tempe police report, June 2018",
        (0.5,),
        "s",
    ),
    Fact(
        "police-avoidable",
        'Police concluded the crash was "entirely avoidable" had the operator been watching the '
        "road.",
        "S",
        ("geekwire-2018-06",),
        "attention",
        "GeekWire and The Daily Beast on the Tempe police report, June 2018",
    ),
    Fact(
        "defence-2022",
        "Her lawyers said she was not watching a programme but monitoring work-related chat "
        "messages on her work phone.",
        "S",
        ("abc15-2022-07-01",),
        "attention",
        "ABC15 on the defence's letter of 13 June 2022",
    ),
    Fact(
        "defence-2023",
        "At sentencing her lawyers said she was looking at a messaging program used by Uber "
        "employees on a work phone on her right knee, with the show playing on her personal "
        "phone on the passenger seat.",
        "S",
        ("ap-2023-07-28",),
        "attention",
        "AP, 28 July 2023",
    ),
    Fact(
        "bainbridge-irony",
        'Automating a task leaves people to monitor it, and "the more advanced a control system '
        'is, so the more crucial may be the contribution of the human operator".',
        "Q",
        ("bainbridge-1983",),
        "attention",
        "the paper's text, seen in two copies",
    ),
    Fact(
        "bainbridge-vigilance",
        '"It is impossible for even a highly motivated human being to maintain effective visual '
        "attention towards a source of information on which very little happens, for more than "
        'about half an hour."',
        "Q",
        ("bainbridge-1983",),
        "attention",
        "the paper's text, seen in two copies",
    ),
    # --- The NTSB's finding -------------------------------------------------------------------
    Fact(
        "probable-cause",
        "The probable cause was the failure of the vehicle operator to monitor the driving "
        "environment and the operation of the automated driving system because she was visually "
        "distracted throughout the trip by her personal cell phone.",
        "Q",
        (NTSB_FINAL, "phoenixnewtimes-2020-09", "yahoo-2019-11-19"),
        "ntsb",
        "quoted word for word by Phoenix New Times and (in part) by Yahoo News",
    ),
    Fact(
        "contributing-uber",
        "The NTSB found that contributing to the crash were Uber ATG's inadequate safety risk "
        "assessment procedures, "
        "ineffective oversight of vehicle operators, and lack of adequate mechanisms for "
        "addressing operators' automation complacency, \"all a consequence of its inadequate "
        'safety culture".',
        "P",
        (NTSB_FINAL, "leftlane-2019-11-21"),
        "ntsb",
        "Left Lane News quotes the last phrase and paraphrases the rest",
    ),
    Fact(
        "contributing-pedestrian",
        "The NTSB found that the impaired pedestrian's crossing of N. Mill Avenue outside a "
        "crosswalk also contributed.",
        "P",
        (NTSB_FINAL, "leftlane-2019-11-21"),
        "ntsb",
        "Left Lane News",
    ),
    Fact(
        "contributing-adot",
        "The NTSB found that the Arizona Department of Transportation's insufficient oversight "
        "of automated vehicle testing also contributed.",
        "P",
        (NTSB_FINAL, "leftlane-2019-11-21", "knau-2019-11-20"),
        "ntsb",
        "Left Lane News and KNAU",
    ),
    Fact(
        "ntsb-vote",
        "The NTSB's board met on 19 November 2019 and adopted the probable cause by a vote of "
        "three to none.",
        "S",
        ("yahoo-2019-11-19",),
        "ntsb",
        "Yahoo News, 19 November 2019",
    ),
    Fact(
        "ntsb-recommends-only",
        "The NTSB cannot impose rules; its recommendations carry weight with regulators and "
        "lawmakers, who decide whether to act on them.",
        "S",
        ("washingtontimes-2011-12-14",),
        "ntsb",
        "The Washington Times, 14 December 2011 (a general statement about the NTSB)",
    ),
    Fact(
        "nhtsa-voluntary",
        "The board criticised NHTSA, the federal road-safety regulator, for not leading on the "
        "testing of automated vehicles on public roads: its guidance asked companies for "
        "voluntary safety self-assessments, and only 16 had filed one.",
        "S",
        ("knau-2019-11-20",),
        "ntsb",
        "KNAU, 20 November 2019",
    ),
    Fact(
        "rec-nhtsa",
        "The NTSB recommended that NHTSA require a safety self-assessment report from anyone "
        "testing automated vehicles on public roads, and set up a process to evaluate them; it "
        "made similar recommendations to Arizona's Department of Transportation.",
        "P",
        (NTSB_FINAL, "leftlane-2019-11-21"),
        "ntsb",
        "Left Lane News",
    ),
    Fact(
        "rec-uber",
        "The NTSB recommended that Uber ATG complete a safety management system for its automated "
        "driving testing, covering risk management, safety assurance and safety promotion.",
        "P",
        (NTSB_FINAL, "leftlane-2019-11-21"),
        "ntsb",
        "Left Lane News",
    ),
    Fact(
        "chair-deeper-problem",
        "The board's chairman said \"the inappropriate actions of both the automatic driving "
        "system as implemented and the vehicle's human operator were symptoms of a deeper "
        'problem", the ineffective safety culture at Uber at the time.',
        "S",
        ("reuters-2019-11-19",),
        "ntsb",
        "Reuters, 19 November 2019",
    ),
    Fact(
        "chair-chain",
        "The NTSB's chairman called the collision \"the last link of a long chain of actions and "
        'decisions".',
        "S",
        ("leftlane-2019-11-21",),
        "ntsb",
        "Left Lane News, 21 November 2019",
    ),
    Fact(
        "chair-not-self-driving",
        "The NTSB's chairman also said: \"This was not a self-driving vehicle. We're not there "
        'yet."',
        "S",
        ("azrepublic-2019-11-20",),
        "ntsb",
        "The Arizona Republic, 20 November 2019",
    ),
    # --- What followed ------------------------------------------------------------------------
    Fact(
        "uber-suspends",
        "Uber suspended its self-driving tests in every city right after the crash.",
        "S",
        ("techcrunch-2018-03-26",),
        "after",
        "TechCrunch, 26 March 2018",
    ),
    Fact(
        "police-video",
        "Tempe police released the car's inward- and outward-facing video days after the crash.",
        "S",
        ("fox10-2018-03-26",),
        "after",
        "FOX 10, 26 March 2018",
    ),
    Fact(
        "arizona-welcome",
        "Arizona's governor had welcomed Uber's self-driving cars in December 2016, after "
        "California's regulator stopped Uber's tests there for lack of a permit.",
        "S",
        ("techcrunch-2018-03-26", "thedrive-2018-05"),
        "after",
        "TechCrunch and The Drive",
    ),
    Fact(
        "ducey-suspends",
        "On 26 March 2018 the governor directed ADOT to suspend Uber's testing on Arizona's "
        'public roads, calling the crash "an unquestionable failure" to put public safety first.',
        "S",
        ("techcrunch-2018-03-26", "fox10-2018-03-26"),
        "after",
        "TechCrunch; FOX 10 quotes the letter",
    ),
    Fact(
        "settlement",
        "Uber reached a confidential settlement with members of her family; their lawyers said "
        "on 29 March 2018 that the case was resolved.",
        "S",
        ("azrepublic-2018-03-30",),
        "after",
        "The Arizona Republic, 30 March 2018",
    ),
    Fact(
        "uber-leaves-arizona",
        "On 23 May 2018 Uber ended its self-driving operation in Arizona; about 300 people, most "
        "of them vehicle operators, lost their jobs.",
        "S",
        ("ap-2018-05-23",),
        "after",
        "AP, 23 May 2018",
    ),
    Fact(
        "uber-hart",
        "Uber hired a former NTSB chair, Christopher Hart, to advise on its safety culture.",
        "S",
        ("thedrive-2018-05",),
        "after",
        "The Drive, May 2018",
    ),
    Fact(
        "maricopa-conflict",
        "The Maricopa County Attorney handed the case to Yavapai County because of a potential "
        "conflict of interest: an earlier publicity campaign with Uber.",
        "S",
        ("ktar-2018-06-01",),
        "after",
        "KTAR, 1 June 2018",
    ),
    Fact(
        "yavapai-no-basis",
        'In March 2019 the Yavapai County Attorney found "no basis for criminal liability for the '
        'Uber corporation" and asked Tempe police for more evidence on what the operator would or '
        "should have seen.",
        "S",
        ("abc15-2019-03-05", "reuters-2019-03-05"),
        "after",
        "ABC15 quotes the letter; Reuters",
    ),
    Fact(
        "charged",
        "In 2020 a Maricopa County grand jury charged the operator, named in court records as "
        "Rafaela Vasquez, with negligent homicide; she pleaded not guilty in September 2020.",
        "S",
        ("phoenixnewtimes-2020-09",),
        "after",
        "Phoenix New Times, September 2020",
    ),
    Fact(
        "plea",
        "On 28 July 2023 she pleaded guilty to endangerment, a felony that can become a "
        "misdemeanour once she completes probation, and was sentenced to three years of "
        "supervised probation.",
        "S",
        ("ap-2023-07-28",),
        "after",
        "AP, 28 July 2023 (Reuters reports the same)",
    ),
    Fact(
        "defence-uber-share",
        "Her lawyer told the court that Uber should share the blame for putting her in the car "
        'without a second employee: "It was not a question of if but when it was going to '
        'happen."',
        "S",
        ("ap-2023-07-28",),
        "after",
        "AP, 28 July 2023",
    ),
    Fact(
        "aurora",
        "In December 2020 Uber sold its self-driving unit, the Advanced Technologies Group, to "
        "the start-up Aurora.",
        "S",
        ("times-2020-12-08",),
        "after",
        "The Times, 8 December 2020",
    ),
    # --- Frameworks ---------------------------------------------------------------------------
    Fact(
        "sotif",
        'ISO 21448 defines the safety of the intended functionality (SOTIF) as "the absence of '
        'unreasonable risk due to a hazard caused by functional insufficiencies", for functions '
        "whose situational awareness is derived from complex sensors and processing algorithms.",
        "Q",
        ("iso-21448",),
        "frameworks",
        "the standard's published scope",
    ),
    Fact(
        "ul4600",
        'UL 4600 requires "a claim-based safety case": "a structured set of claims, argument, '
        "and evidence supporting the proposition that an item (a vehicle plus all other support "
        'contributing to safety) is acceptably safe for deployment".',
        "Q",
        ("ul-4600",),
        "frameworks",
        "the standard's published scope",
    ),
    Fact(
        "j3016",
        "SAE J3016 is a taxonomy of levels of driving automation, from none to full; it "
        '"does not provide specifications, or otherwise impose requirements on, driving '
        'automation systems", and one of its purposes is "clarifying the role of the (human) '
        'driver, if any, during driving automation system engagement".',
        "Q",
        ("sae-j3016",),
        "frameworks",
        "the September 2016 revision's rationale",
    ),
    Fact(
        "acm-2-5",
        'ACM Code principle 2.5, "Give comprehensive and thorough evaluations of computer '
        'systems and their impacts, including analysis of possible risks", adds: "Extraordinary '
        "care should be taken to identify and mitigate potential risks in machine learning "
        "systems. A system for which future risks cannot be reliably predicted requires frequent "
        'reassessment of risk as the system evolves in use, or it should not be deployed."',
        "Q",
        ("acm-code",),
        "frameworks",
        "the 2018 Code's text; the 1992 Code had the same heading",
    ),
    Fact(
        "frameworks-dates",
        "ISO 21448 was first published in 2019 and UL 4600 in 2020, after the crash; SAE J3016 "
        "dates from 2014 and the ACM's principle from 1992 in the same words.",
        "S",
        ("iso-21448", "ul-4600", "sae-j3016", "acm-code"),
        "frameworks",
        "the standards' own title pages and catalogue entries",
    ),
)


# The crash's time of day in the record: "about 9:58 pm" (scenarios.tempe2018, fact "crash").
CRASH_MINUTE_OF_DAY = 21 * 60 + 58


def minute_of_day_to_s(minute: float) -> float:
    """A time of day (minutes after midnight) as seconds relative to the crash's time of day."""
    return (minute - CRASH_MINUTE_OF_DAY) * 60.0


def fact(fact_id: str) -> Fact:
    """The responsibility fact with this id (KeyError names the known ids)."""
    try:
        return FACTS[fact_id]
    except KeyError:
        raise KeyError(f"no fact {fact_id!r}; known: {', '.join(sorted(FACTS))}") from None
