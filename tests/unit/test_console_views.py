"""The console's pure parts: languages, the SSE relay's parsing, how alerts, matches,
forms and charts are shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tandem_console import charts, explain, feed, forms, sse
from tandem_console.backend import ApiError, field_errors
from tandem_console.i18n import (
    MISSING,
    Language,
    load_translations,
    negotiate,
    parse_accept_language,
)
from tandem_console.web import local_path, person_of

pytestmark = pytest.mark.unit


# ------------------------------------------------------------------------------ languages


def test_accept_language_is_ranked_by_quality_then_order() -> None:
    header = "de-AT;q=0.5, pl-PL, en;q=0.8, sl;q=0, *;q=0.1"
    assert parse_accept_language(header) == ["pl-PL", "en", "de-AT", "*"]
    assert parse_accept_language("fr;q=oops, de") == ["de"]
    assert parse_accept_language(None) == []


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("pl-PL,pl;q=0.9,en;q=0.8", "pl"),
        ("fr-FR, de;q=0.7", "de"),
        ("sl_SI", "sl"),
        ("fr, it", "en"),
        ("*", "en"),
        ("", "en"),
        ("sl;q=0, de;q=0.1", "de"),
    ],
)
def test_the_first_language_we_speak_wins(header: str, chosen: str) -> None:
    assert negotiate(header) == chosen


@pytest.fixture(scope="module")
def translations() -> dict[str, object]:
    return load_translations()  # type: ignore[return-value]


def test_catalogues_translate_and_format(translations: dict[str, object]) -> None:
    polish = Language("pl", translations["pl"], "Europe/Warsaw")  # type: ignore[arg-type]
    assert polish.gettext("Inbox") == "Skrzynka"
    assert polish.gettext("Table %(label)s", label="4") == "Stolik 4"
    assert polish.ngettext("%(num)d event", "%(num)d events", 1) == "1 wydarzenie"
    assert polish.ngettext("%(num)d event", "%(num)d events", 3) == "3 wydarzenia"
    assert polish.ngettext("%(num)d event", "%(num)d events", 5) == "5 wydarzeń"
    slovene = Language("sl", translations["sl"], "Europe/Ljubljana")  # type: ignore[arg-type]
    assert slovene.ngettext("%(num)d event", "%(num)d events", 2) == "2 dogodka"
    english = Language("en", translations["en"], "UTC")  # type: ignore[arg-type]
    assert english.gettext("Inbox") == "Inbox"


def test_times_are_shown_in_the_zone_and_the_locale_format(
    translations: dict[str, object],
) -> None:
    moment = datetime(2027, 1, 2, 8, 5, tzinfo=UTC)  # 09:05 in Warsaw, 03:05 in New York
    for code, expected in [
        ("en", "Jan 2, 2027, 9:05\u202fAM"),
        ("pl", "2 sty 2027, 09:05"),
        ("de", "02.01.2027, 09:05"),
        ("sl", "2. jan. 2027, 09:05"),
    ]:
        language = Language(code, translations[code], "Europe/Warsaw")  # type: ignore[arg-type]
        assert language.when(moment) == expected
    english = Language("en", translations["en"], "Europe/Warsaw")  # type: ignore[arg-type]
    assert english.clock(moment.isoformat(), "America/New_York") == "3:05\u202fAM"
    assert english.when(None) == ""
    assert english.percent(0.675) == "68%"
    assert english.percent(None) == MISSING


# ------------------------------------------------------------------------------ sse


def test_sse_parser_assembles_events_and_skips_comments() -> None:
    parser = sse.Parser()
    lines = [": keep-alive", "", "event: notification", "id: 42", 'data: {"a":', "data: 1}", ""]
    found = [event for line in lines if (event := parser.feed(line)) is not None]
    assert found == [sse.Event("notification", '{"a":\n1}', "42")]
    # The last id persists; an event without data dispatches nothing.
    assert parser.feed("retry: 1000") is None and parser.feed("") is None
    assert parser.feed("data:plain") is None
    assert parser.feed("") == sse.Event("message", "plain", "42")


def test_sse_encode_splits_lines_so_the_browser_joins_them_back() -> None:
    wire = sse.encode("notification", "<li>\r\n  x\n</li>", id="7")
    assert wire == "event: notification\nid: 7\ndata: <li>\ndata:   x\ndata: </li>\n\n"
    parser = sse.Parser()
    events = [e for line in wire.split("\n") if (e := parser.feed(line)) is not None]
    assert events == [sse.Event("notification", "<li>\n  x\n</li>", "7")]


# ------------------------------------------------------------------------------ alerts


def test_an_alert_shows_its_subject_under_the_readers_label() -> None:
    note = {"kind": "match.suggested", "title": "New partner match: A ↔ B: C (58%)"}
    assert feed.headline(note) == "A ↔ B: C (58%)"
    assert feed.headline({"kind": "custom.kind", "title": "Keep: all"}) == "Keep: all"
    assert feed.KIND_LABELS["match.suggested"] == "New partner match"


def test_an_alert_opens_its_match_or_event() -> None:
    assert feed.link_of({"kind": "match.updated", "data": {"pair_id": "a:b"}}) == "/matches/a:b"
    meeting = {"kind": "meeting.scheduled", "data": {"event_id": "e1"}}
    assert feed.link_of(meeting) == "/events/e1/schedule"
    assert feed.link_of({"kind": "event.cancelled", "data": {"id": "e2"}}) == "/events/e2"
    assert feed.link_of({"kind": "match.suggested", "data": {}}) is None


def test_alerts_are_filtered_and_counted_by_group() -> None:
    items = [
        {"kind": "match.suggested"},
        {"kind": "meeting.cancelled"},
        {"kind": "match.withdrawn"},
    ]
    assert feed.only_group(items, "matches") == [items[0], items[2]]
    assert feed.only_group(items, "nonsense") == items
    assert feed.unread_by_group(items) == {"matches": 2, "meetings": 1, "events": 0}


# ------------------------------------------------------------------------------ matches


def test_components_become_bars_in_a_fixed_order_and_flags_become_notes() -> None:
    bars = explain.bars({"language": 1.0, "reciprocal": 0.5, "declined": 1.0, "sector": 1.7})
    assert [bar.key for bar in bars] == ["reciprocal", "sector", "language"]
    assert [bar.width for bar in bars] == [50.0, 100.0, 100.0]  # clamped to the track
    assert explain.flags({"declined": 1.0, "partners": 0.0}) == ["Declined before"]


def test_an_excerpt_carries_the_language_of_each_text() -> None:
    museum = {"needs": [{"text": "Potrzebujemy skanów 3D", "language": "pl"}]}
    studio = {"offers": [{"text": "Wir bieten 3D-Scans", "language": "de"}, {"text": "x"}]}
    pair = {"need": "Potrzebujemy skanów 3D", "offer": "Wir bieten 3D-Scans", "similarity": 0.6}
    excerpt = explain.excerpt(pair, museum, studio)
    assert excerpt == explain.Excerpt(
        "Potrzebujemy skanów 3D", "pl", "Wir bieten 3D-Scans", "de", 0.6
    )
    edited = explain.excerpt({**pair, "offer": "changed since"}, museum, studio)
    assert edited is not None and edited.offer_language is None
    assert explain.excerpt(None, museum, studio) is None


# ------------------------------------------------------------------------------ forms


def test_the_organisation_form_becomes_the_registrys_profile() -> None:
    values = {
        "name": [" Fundacja "],
        "kind": ["heritage"],
        "country": ["pl"],
        "languages": ["PL, en;de"],
        "offers": ["Warsztaty\n\n  Skanowanie 3D  \n"],
        "needs": [""],
        "subsectors": ["museum", "crafts"],
        "contact_email": ["a@b.pl"],
        "region": [""],
    }
    existing = {"offers": [{"text": "Warsztaty", "tags": ["craft"]}]}
    payload = forms.organisation_payload(values, existing)
    assert payload["name"] == "Fundacja" and payload["country"] == "PL"
    assert payload["languages"] == ["pl", "en", "de"]
    assert payload["offers"] == [
        {"text": "Warsztaty", "tags": ["craft"]},
        {"text": "Skanowanie 3D", "tags": []},
    ]
    assert payload["needs"] == [] and payload["region"] is None
    assert payload["contact"] == {"name": None, "email": "a@b.pl", "phone": None}
    assert forms.organisation_payload({"name": ["x"]})["contact"] is None
    assert forms.organisation_payload({})["sharing"] == "hub"


def test_a_stored_profile_fills_the_form_back() -> None:
    profile = {
        "name": "M",
        "kind": "heritage",
        "country": "PL",
        "languages": ["pl", "en"],
        "offers": [{"text": "a"}, {"text": "b"}],
        "contact": {"email": "x@y.pl"},
    }
    form = forms.organisation_form(profile)
    assert form["languages"] == "pl, en" and form["offers"] == "a\nb"
    assert form["contact_email"] == "x@y.pl" and form["city"] == ""


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("country", "country"),
        ("contact.email", "contact_email"),
        ("offers.3.text", "offers"),
        ("sessions.0.slots", "sessions"),
        ("", "form"),
    ],
)
def test_an_api_error_path_points_at_a_form_field(path: str, field: str) -> None:
    assert forms.form_field(path) == field


def test_a_422_detail_becomes_field_errors() -> None:
    detail = [
        {"loc": ["body", "country"], "msg": "Value error, country must be PL", "type": "x"},
        {"loc": ["body", "offers", 0, "text"], "msg": "too long"},
        {"loc": ["body", "offers", 1, "text"], "msg": "too short"},
        {"loc": ["body"], "msg": "Value error, ends_at must be after starts_at"},
        "not a mapping",
    ]
    assert field_errors(detail)[0] == ("country", "country must be PL")
    error = ApiError(422, detail)
    assert forms.field_errors(error.fields()) == {
        "country": "country must be PL",
        "offers": "too long",
        "form": "ends_at must be after starts_at",
    }
    assert "too short" in error.message
    assert ApiError(409, "already registered").message == "already registered"


def test_the_event_form_becomes_the_events_payload_with_its_sessions() -> None:
    values = {
        "title": ["Day"],
        "kind": ["matching_event"],
        "timezone": ["Europe/Warsaw"],
        "starts_at": ["2027-01-02T09:00"],
        "ends_at": ["2027-01-02T13:00"],
        "tables": ["A1, A2 ,"],
        "capacity": ["40"],
        "online": ["true"],
        "session_0_starts_at": ["2027-01-02T10:00"],
        "session_0_slots": ["4"],
        "session_0_slot_minutes": ["twenty"],
        "session_1_starts_at": [""],
        "session_2_starts_at": ["2027-01-02T12:00"],
    }
    payload = forms.event_payload(values)
    assert payload["tables"] == ["A1", "A2"] and payload["capacity"] == 40
    assert payload["online"] is True and payload["sectors"] == []
    assert payload["sessions"] == [
        {"starts_at": "2027-01-02T10:00", "slot_minutes": "twenty", "break_minutes": 0, "slots": 4},
        {"starts_at": "2027-01-02T12:00", "slot_minutes": 20, "break_minutes": 0, "slots": 1},
    ]
    assert forms.tables_value(" 12 ") == 12


def test_a_stored_event_fills_the_form_in_its_own_zone() -> None:
    event = {
        "title": "Day",
        "timezone": "Europe/Ljubljana",
        "starts_at": "2027-07-01T07:00:00+00:00",
        "ends_at": "2027-07-01T11:00:00+00:00",
        "sessions": [
            {
                "starts_at": "2027-07-01T08:00:00Z",
                "slot_minutes": 20,
                "break_minutes": 5,
                "slots": 4,
            }
        ],
        "tables": ["1", "2"],
    }
    form = forms.event_form(event)
    assert form["starts_at"] == "2027-07-01T09:00"  # CEST
    assert form["session_0_starts_at"] == "2027-07-01T10:00"
    assert form["tables"] == "1, 2"
    assert forms.session_rows(form) == 1 + forms.SESSION_ROWS


def test_import_files_are_sent_with_the_registrys_media_type() -> None:
    assert forms.import_media_type("Orgs.CSV") == "text/csv"
    assert forms.import_media_type("a.jsonl") == "application/x-ndjson"
    assert forms.import_media_type("a.json") == "application/json"
    assert forms.import_media_type("a.xlsx") is None


# ------------------------------------------------------------------------------ charts


def test_bars_are_scaled_to_the_largest_value_or_a_given_maximum() -> None:
    chart = charts.bar_chart([("held", 4, "4"), ("no-shows", 1, "1"), ("none", 0, "0")])
    assert [bar.length for bar in chart.bars] == [charts.TRACK, charts.TRACK / 4, 0.0]
    assert [bar.y for bar in chart.bars] == [10, 10 + charts.ROW, 10 + 2 * charts.ROW]
    assert chart.height == 20 + 3 * charts.ROW
    rate = charts.bar_chart([("acceptance", 0.5, "50%")], maximum=1.0)
    assert rate.bars[0].length == charts.TRACK / 2
    assert all(bar.length == 0 for bar in charts.bar_chart([("a", 0, "0")]).bars)


# ------------------------------------------------------------------------------ sessions


def test_the_person_is_read_from_an_unexpired_token() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    claims = {"sub": "a@hub", "hub": "demo", "role": "hub_admin", "exp": now + timedelta(hours=1)}
    token = jwt.encode(claims, "any-key-the-console-does-not-verify-with", algorithm="HS256")
    person = person_of(token, now)
    assert person is not None and person.is_admin and not person.is_network_admin
    assert person_of(token, now + timedelta(hours=2)) is None
    assert person_of("not a token", now) is None
    assert person_of(None, now) is None


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/events/1?x=2", "/events/1?x=2"),
        ("//evil.example/x", "/inbox"),
        ("/\\evil.example", "/inbox"),
        ("https://evil.example", "/inbox"),
        (None, "/inbox"),
    ],
)
def test_going_back_stays_on_this_site(candidate: str | None, expected: str) -> None:
    assert local_path(candidate) == expected
