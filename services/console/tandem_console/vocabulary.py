"""The platform's vocabularies as people read them (labels marked for translation). The
codes are the services' contract (tandem_shared.contracts); the labels are the console's."""

from __future__ import annotations

from tandem_console.feed import N_
from tandem_shared.contracts import EventKind, MeetingOutcome, OrgKind

ORG_KINDS: dict[str, str] = {
    OrgKind.HERITAGE: N_("Cultural heritage"),
    OrgKind.CREATIVE: N_("Creative and cultural industries"),
    OrgKind.INDUSTRY: N_("Manufacturing and industry"),
    OrgKind.SUPPORT: N_("Business support"),
    OrgKind.RESEARCH: N_("Research"),
    OrgKind.PUBLIC: N_("Public body"),
    OrgKind.OTHER: N_("Other"),
}
EVENT_KINDS: dict[str, str] = {
    EventKind.WORLD_CAFE: N_("World café"),
    EventKind.WORKSHOP: N_("Workshop"),
    EventKind.CO_CREATION_COURSE: N_("Co-creation course"),
    EventKind.MATCHING_EVENT: N_("Matching event (B2B)"),
    EventKind.MARKET: N_("Market"),
    EventKind.FORUM: N_("Forum"),
    EventKind.OTHER: N_("Other"),
}
OUTCOMES: dict[str, str] = {
    MeetingOutcome.HELD: N_("Held"),
    MeetingOutcome.NO_SHOW: N_("No-show"),
    MeetingOutcome.FOLLOW_UP: N_("Follow-up agreed"),
    MeetingOutcome.AGREEMENT: N_("Agreement"),
}
# The registry's subsector codes (its vocabulary; an unknown one is refused there).
SUBSECTORS: dict[str, str] = {
    "museum": N_("Museum"),
    "gallery": N_("Gallery"),
    "theatre": N_("Theatre"),
    "festival": N_("Festival"),
    "library": N_("Library"),
    "archive": N_("Archive"),
    "heritage_site": N_("Heritage site"),
    "design": N_("Design"),
    "architecture": N_("Architecture"),
    "crafts": N_("Crafts"),
    "fashion": N_("Fashion"),
    "music": N_("Music"),
    "film": N_("Film"),
    "games": N_("Games"),
    "ar_vr": N_("AR/VR"),
    "publishing": N_("Publishing"),
    "advertising": N_("Advertising"),
    "software": N_("Software"),
    "manufacturing": N_("Manufacturing"),
    "materials": N_("Materials"),
    "tourism": N_("Tourism"),
    "education": N_("Education"),
    "cluster": N_("Cluster"),
    "chamber": N_("Chamber"),
    "agency": N_("Agency"),
    "research": N_("Research"),
    "media": N_("Media"),
    "performing_arts": N_("Performing arts"),
    "visual_arts": N_("Visual arts"),
    "digitisation": N_("Digitisation"),
    "other": N_("Other"),
}
SHARING: dict[str, str] = {
    "hub": N_("Only my hub"),
    "network": N_("The whole network"),
}
REGISTRATION_STATUS: dict[str, str] = {
    "registered": N_("Registered"),
    "waitlisted": N_("Waitlisted"),
    "withdrawn": N_("Withdrawn"),
    "checked_in": N_("Checked in"),
}
REQUEST_STATUS: dict[str, str] = {
    "pending": N_("Pending"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
}
CHANNELS: dict[str, str] = {"feed": N_("Inbox"), "email": N_("Email")}
DELIVERY: dict[str, str] = {"immediate": N_("At once"), "daily_digest": N_("A daily digest")}
