"""A hub staff member's whole day in the console, in a real browser (Debian's chromium via
Playwright) on the real stack: four services and the console as processes, PostgreSQL and
the broker. The steps run in order on one signed-in tab; every page visited is
screenshotted and scanned with axe-core (no serious or critical violation allowed)."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import Stack, Visits, new_context, sign_in

pytestmark = pytest.mark.browser

MUSEUM = "Muzeum Okręgowe w Rzeszowie"
STUDIO = "Scanwerk Studio Leipzig"
ATELIER = "Atelier Forma Brno"
LESNINA = "Lesnina Furniture Works"
POLISH_ORG = "Fundacja Rzemiosła Podkarpackiego"
IMPORTED = ("Kraków Textile Lab", "Zlín Shoe Makers")
EVENT = "Podkarpackie Heritage Matching Day"
LIVE_ORG = "Ljubljana Photogrammetry Collective"
# The CSV's second data row has an unknown kind: the registry refuses that row only.
CSV = (
    "external_id,name,kind,country,city,languages,offers,needs\n"
    f"csv-textile,{IMPORTED[0]},creative,PL,Kraków,pl;en,"
    "Projektujemy tkaniny inspirowane wzorami ludowymi,Szukamy muzeów z kolekcjami tkanin\n"
    "csv-alien,Nowhere Ltd,alien,PL,Rzeszów,pl,Something,Something else\n"
    f"csv-shoes,{IMPORTED[1]},industry,CZ,Zlín,cs;en,"
    "Vyrábíme boty na zakázku,Hledáme designéry pro novou kolekci\n"
)


def pair(a: str, b: str) -> re.Pattern[str]:
    """A pair's name in either order (the pair's order is its profile ids')."""
    a, b = re.escape(a), re.escape(b)
    return re.compile(f"{a}.*{b}|{b}.*{a}")


def open_inbox_alert(page: Page, stack: Stack, a: str, b: str) -> None:
    page.goto(f"{stack.url}/inbox")
    link = page.get_by_role("link", name=pair(a, b))
    expect(link.first).to_be_visible()
    link.first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(pair(a, b))


def test_sign_in_and_see_the_museum_in_the_inbox(page: Page, stack: Stack, visits: Visits) -> None:
    page.goto(stack.url)
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    visits.check(page, "sign in")
    page.get_by_label("Email").fill("admin@demo.local")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    sign_in(page, stack.url)
    # The demo profiles were just loaded: their match reaches the inbox within seconds.
    for _ in range(30):
        if page.get_by_text(MUSEUM).count():
            break
        time.sleep(1)
        page.reload()
    expect(page.get_by_role("link", name=pair(MUSEUM, STUDIO))).to_be_visible()
    expect(page.locator("#unread-count")).to_contain_text("unread")
    visits.check(page, "inbox")


def test_the_alert_opens_the_match_and_says_why(page: Page, stack: Stack, visits: Visits) -> None:
    open_inbox_alert(page, stack, MUSEUM, STUDIO)
    left_needs = page.locator("section.card", has_text=f"What {MUSEUM} needs")
    expect(left_needs).to_contain_text("Potrzebujemy partnera do digitalizacji 3D")
    expect(left_needs).to_contain_text("Photogrammetrie")
    expect(left_needs.locator(".lang")).to_have_text(["PL", "DE"])
    expect(page.get_by_role("heading", name=STUDIO, level=2)).to_be_visible()
    bar = page.get_by_role("img", name="Sector complementarity")
    expect(bar).to_be_visible()
    expect(page.get_by_text("Shared working language", exact=True)).to_be_visible()
    visits.check(page, "match")


def test_decline_another_match_with_a_reason(page: Page, stack: Stack, visits: Visits) -> None:
    open_inbox_alert(page, stack, ATELIER, LESNINA)
    page.get_by_role("button", name="Decline").click()
    # No reason: the matcher refuses, the console says so next to the field.
    expect(page.locator("#reason-error")).to_be_visible()
    visits.check(page, "match decline without a reason")
    page.get_by_label("Reason for declining").fill("Lesnina already works with a Brno studio")
    page.get_by_role("button", name="Decline").click()
    expect(page.locator("#match-status")).to_have_text("Declined")
    pair_id = page.url.rsplit("/", 1)[1]
    with stack.api("matcher") as matcher:
        assert matcher.get(f"/v1/matches/{pair_id}").json()["status"] == "declined"


def test_create_a_polish_organisation_fixing_a_validation_error(
    page: Page, stack: Stack, visits: Visits
) -> None:
    page.goto(f"{stack.url}/organisations")
    visits.check(page, "organisations")
    page.get_by_role("link", name="New organisation").click()
    page.get_by_label("Name", exact=True).fill(POLISH_ORG)
    page.get_by_label("Kind", exact=True).select_option("heritage")
    page.get_by_label("Country").fill("Polska")
    page.get_by_label("City").fill("Przemyśl")
    page.get_by_label("Working languages").fill("pl, en")
    page.get_by_label("Offers").fill("Warsztaty tradycyjnego rzemiosła dla projektantów")
    page.get_by_label("Needs").fill("Szukamy partnera do skanowania 3D naszych zbiorów")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.locator("#country-error")).to_contain_text("ISO 3166-1")
    expect(page.get_by_label("Country")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name", exact=True)).to_have_value(POLISH_ORG)  # kept
    visits.check(page, "new organisation with an error")
    page.get_by_label("Country").fill("PL")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(POLISH_ORG)
    expect(page.get_by_text("Szukamy partnera do skanowania 3D")).to_be_visible()
    visits.check(page, "organisation")


def test_import_a_csv_with_one_bad_row(page: Page, stack: Stack, visits: Visits) -> None:
    page.goto(f"{stack.url}/organisations/import")
    page.get_by_label("File").set_input_files(
        {"name": "organisations.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-counts")).to_have_text("2 created, 0 updated, 0 unchanged.")
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("kind")
    expect(errors.first.locator("td").first).to_have_text("2")
    visits.check(page, "import report")
    page.goto(f"{stack.url}/organisations?country=CZ")
    page.get_by_role("link", name=IMPORTED[1]).click()
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Working languages")).to_have_value("cs, en")
    visits.check(page, "edit organisation")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Erase").click()
    visits.check(page, "erase organisation")
    page.get_by_role("button", name="Erase permanently").click()
    expect(page.locator("#flashes")).to_contain_text(f"Organisation {IMPORTED[1]} erased")
    page.goto(f"{stack.url}/organisations?country=CZ")
    expect(page.get_by_role("link", name=IMPORTED[1])).to_have_count(0)


def _create_event(page: Page, stack: Stack, visits: Visits) -> None:
    day = date.today() + timedelta(days=30)
    page.goto(f"{stack.url}/events")
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title").fill(EVENT)
    page.get_by_label("Kind", exact=True).select_option("matching_event")
    page.get_by_label("Time zone").fill("Europe/Warsaw")
    page.get_by_label("Starts", exact=True).fill(f"{day}T09:00")
    page.get_by_label("Ends", exact=True).fill(f"{day}T13:00")
    page.get_by_label("Venue").fill("Zamek Lubomirskich, Rzeszów")
    page.get_by_label("Tables").fill("3")
    page.get_by_label("Languages").fill("pl, en, de")
    page.get_by_label("Cultural heritage").check()
    page.get_by_label("Creative and cultural industries").check()
    page.get_by_label("Session 1 starts").fill(f"{day}T10:00")
    page.locator("#session_0_slots").fill("4")
    page.locator("#session_0_slot_minutes").fill("20")
    page.locator("#session_0_break_minutes").fill("5")
    visits.check(page, "new event")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(EVENT)


def _register_six(page: Page, visits: Visits) -> None:
    organisations = [MUSEUM, STUDIO, ATELIER, LESNINA, POLISH_ORG, IMPORTED[0]]
    for number, name in enumerate(organisations, start=1):
        option = page.locator("#profile_id option", has_text=name)
        page.get_by_label("Organisation", exact=True).select_option(
            option.first.get_attribute("value")
        )
        page.get_by_label("Participant's name").fill(f"Participant {number}")
        page.get_by_label("Participant's email").fill(f"participant{number}@example.org")
        if number == 2:  # the studio cannot make the first slot
            page.locator("input[name=availability]").first.uncheck()
        page.get_by_role("button", name="Register", exact=True).click()
        expect(page.locator("#registrations + div table tbody tr")).to_have_count(number)
    studio_row = page.locator("tbody tr", has_text=STUDIO)
    expect(studio_row.locator("td.unavailable")).to_have_count(1)
    visits.check(page, "event registrations")


def answer(verb: str, asking: str, asked: str) -> re.Pattern[str]:
    """An answer button's name: the verb, then (for screen readers) whose request it is."""
    return re.compile(rf"^{verb}\W+{re.escape(asking)} → {re.escape(asked)}$")


def _requests(page: Page, visits: Visits) -> None:
    page.get_by_role("link", name="Meeting requests").click()
    for asking, asked in ((MUSEUM, STUDIO), (POLISH_ORG, STUDIO), (ATELIER, MUSEUM)):
        page.get_by_label("From", exact=True).select_option(label=asking)
        page.get_by_label("To", exact=True).select_option(label=asked)
        page.get_by_label("Message").fill(f"{asking} would like to meet {asked}")
        page.get_by_role("button", name="Send request").click()
        expect(page.locator("#flashes")).to_contain_text("Meeting request sent")
    visits.check(page, "meeting requests")
    for asking, asked in ((MUSEUM, STUDIO), (POLISH_ORG, STUDIO)):
        page.get_by_role("button", name=answer("Accept", asking, asked)).click()
        expect(page.locator("#flashes")).to_contain_text("Request accepted")
    page.get_by_label("Reason for declining").fill("Not this time")
    page.get_by_role("button", name=answer("Decline", ATELIER, MUSEUM)).click()
    expect(page.locator("#requests tbody tr", has_text="Accepted")).to_have_count(2)
    expect(page.locator("#requests tbody tr", has_text="Declined")).to_have_count(1)


def _schedule(page: Page, visits: Visits, downloads: Path) -> None:
    page.get_by_role("link", name="Schedule", exact=True).click()
    page.get_by_role("button", name="Generate the schedule").click()
    expect(page.locator("#flashes")).to_contain_text("Schedule generated")
    grid = page.locator("#schedule-grid")
    expect(grid).to_contain_text(pair(MUSEUM, STUDIO))
    expect(grid).to_contain_text(POLISH_ORG)
    visits.check(page, "schedule")
    page.get_by_role("link", name="Printable table plan").click()
    expect(page.locator("#table-plan")).to_contain_text(MUSEUM)
    visits.check(page, "table plan")
    page.go_back()
    page.get_by_role("link", name=f"Agenda of {MUSEUM}").click()
    expect(page.get_by_role("cell", name=STUDIO)).to_be_visible()
    visits.check(page, "agenda")
    with page.expect_download() as download:
        page.locator("#agenda-ics").click()
    path = downloads / "agenda.ics"
    download.value.save_as(path)
    calendar = Calendar.from_ical(path.read_bytes())
    meetings = [part for part in calendar.walk("VEVENT")]
    assert meetings, "the agenda has no VEVENT"
    assert any(STUDIO in str(meeting.get("SUMMARY")) for meeting in meetings)


def _outcome_and_stats(page: Page, visits: Visits) -> None:
    page.get_by_role("link", name="Back to the schedule").click()
    page.get_by_label(re.compile("Outcome of .*")).and_(
        page.get_by_label(pair(MUSEUM, STUDIO))
    ).select_option("agreement")
    row = page.locator("tr", has_text=pair(MUSEUM, STUDIO)).filter(has=page.locator("form"))
    row.get_by_label("Rating").select_option("5")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#flashes")).to_contain_text("Outcome recorded")
    page.get_by_role("link", name="Statistics").click()
    chart = page.get_by_role("img", name="Meetings")
    expect(chart).to_be_visible()
    agreements = page.locator("#chart-meetings .chart-bar").nth(4)
    expect(agreements).to_have_attribute("data-value", "1.0")
    expect(page.locator("#stats-table")).to_contain_text("Agreements")
    expect(page.get_by_role("img", name="Acceptance rate")).to_be_visible()
    visits.check(page, "statistics")


def test_a_matching_event_from_registration_to_statistics(
    page: Page, stack: Stack, visits: Visits, tmp_path: Path
) -> None:
    _create_event(page, stack, visits)
    _register_six(page, visits)
    _requests(page, visits)
    _schedule(page, visits, tmp_path)
    _outcome_and_stats(page, visits)
    page.get_by_role("link", name="Registrations").click()
    page.get_by_role("link", name="Edit event").click()
    expect(page.get_by_label("Session 1 starts")).to_have_value(re.compile(r"T10:00$"))
    expect(page.locator("#session_0_slots")).to_have_value("4")
    visits.check(page, "edit event")
    page.goto(f"{stack.url}/events")
    expect(page.get_by_role("link", name=EVENT)).to_be_visible()
    visits.check(page, "events")


def test_settings_and_the_delivery_log(page: Page, stack: Stack, visits: Visits) -> None:
    page.goto(f"{stack.url}/settings")
    page.get_by_label("Everything in my hub (demo)").check()
    page.get_by_role("button", name="Save subscriptions").click()
    expect(page.locator("#flashes")).to_contain_text("Subscriptions saved")
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("Language of emails").select_option("pl")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("#flashes")).to_contain_text("preferences saved")
    expect(page.get_by_label("Language of emails")).to_have_value("pl")
    visits.check(page, "settings")
    page.get_by_role("link", name="What was sent: the delivery log").click()
    visits.check(page, "delivery log")


def test_a_second_session_sees_a_new_alert_arrive_live(
    browser: Browser, stack: Stack, visits: Visits
) -> None:
    context = new_context(browser)
    try:
        second = context.new_page()
        sign_in(second, stack.url)
        expect(second.locator("body[data-stream-ready=true]")).to_have_count(1)
        time.sleep(1)  # the relay has opened the notifier's stream
        before = second.locator("#notes > li").count()
        with stack.api("registry") as registry:
            created = registry.post("/v1/profiles", json=_live_profile())
            assert created.status_code == 201, created.text
        live = second.locator("#notes > li", has_text=LIVE_ORG)
        expect(live.first).to_be_visible(timeout=45_000)
        assert second.locator("#notes > li").count() > before
        expect(second.locator("body")).to_have_attribute("data-live-alerts", re.compile(r"[1-9]"))
        visits.check(second, "inbox live alert")
    finally:
        context.close()


def _live_profile() -> dict[str, object]:
    return {
        "name": LIVE_ORG,
        "kind": "creative",
        "country": "SI",
        "city": "Ljubljana",
        "languages": ["sl", "en", "pl"],
        "looking_for": ["heritage"],
        "subsectors": ["ar_vr", "digitisation"],
        "offers": [
            {
                "text": "Ponujamo fotogrametrijo in 3D skeniranje kulturne dediščine in muzejskih predmetov"
            }
        ],
        "needs": [{"text": "Iščemo muzeje in zbirke z zanimivimi predmeti za virtualne razstave"}],
        "sharing": "network",
    }


def test_switch_to_polish(page: Page, stack: Stack, visits: Visits) -> None:
    page.goto(f"{stack.url}/inbox")
    page.get_by_label("Language").select_option("pl")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Skrzynka")
    expect(page.get_by_role("link", name="Organizacje")).to_be_visible()
    visits.check(page, "inbox in Polish")
    page.goto(f"{stack.url}/organisations/new")
    expect(page.get_by_label("Nazwa", exact=True)).to_be_visible()
    visits.check(page, "new organisation in Polish")
