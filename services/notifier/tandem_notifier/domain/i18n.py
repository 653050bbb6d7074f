"""The words of every email, per language (pure). Templates stay language-neutral and take
their text from here, so a fifth language is one more dictionary."""

from __future__ import annotations

from collections.abc import Mapping

FALLBACK = "en"

STRINGS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "subject.match.suggested": "New partner match: {a} ↔ {b} ({score})",
        "subject.match.updated": "Updated match: {a} ↔ {b} ({score})",
        "subject.match.withdrawn": "Match withdrawn: {a} ↔ {b}",
        "subject.meeting.scheduled": "Meeting scheduled: {a} ↔ {b} — {event}",
        "subject.meeting.cancelled": "Meeting cancelled: {a} ↔ {b} — {event}",
        "subject.event.scheduled": "New event for your sectors: {event}",
        "subject.digest": "Your Tandem digest for {date}",
        "greeting": "Hello,",
        "intro.match.suggested": "Tandem found a new partner match.",
        "intro.match.updated": "A partner match changed.",
        "why": "Why these two",
        "score": "Score",
        "needs_offers": "{x} needs — {y} offers",
        "need": "Need",
        "offer": "Offer",
        "withdrawn": "This match is no longer suggested ({reason}).",
        "meeting.scheduled": "A 1:1 meeting was scheduled. The invitation is attached.",
        "meeting.cancelled": "This meeting was cancelled; the attached update removes it "
        "from your calendar.",
        "event.scheduled": "A new event for your sectors was scheduled.",
        "when": "When",
        "where": "Where",
        "event": "Event",
        "reason": "Reason",
        "online": "online",
        "digest.intro": "Partner alerts held for your daily digest, by profile:",
        "digest.events": "New events for your sectors:",
        "digest.withdrawn": "withdrawn",
        "footer": "You receive this because of your Tandem subscriptions and preferences.",
    },
    "pl": {
        "subject.match.suggested": "Nowy partner: {a} ↔ {b} ({score})",
        "subject.match.updated": "Zaktualizowane dopasowanie: {a} ↔ {b} ({score})",
        "subject.match.withdrawn": "Dopasowanie wycofane: {a} ↔ {b}",
        "subject.meeting.scheduled": "Zaplanowano spotkanie: {a} ↔ {b} — {event}",
        "subject.meeting.cancelled": "Spotkanie odwołane: {a} ↔ {b} — {event}",
        "subject.event.scheduled": "Nowe wydarzenie w Twoich sektorach: {event}",
        "subject.digest": "Twoje podsumowanie Tandem z dnia {date}",
        "greeting": "Dzień dobry,",
        "intro.match.suggested": "Tandem znalazł nowego partnera.",
        "intro.match.updated": "Dopasowanie partnerów zmieniło się.",
        "why": "Dlaczego ta para",
        "score": "Wynik",
        "needs_offers": "{x} potrzebuje — {y} oferuje",
        "need": "Potrzeba",
        "offer": "Oferta",
        "withdrawn": "To dopasowanie nie jest już proponowane ({reason}).",
        "meeting.scheduled": "Zaplanowano spotkanie 1:1. Zaproszenie jest w załączniku.",
        "meeting.cancelled": "Spotkanie zostało odwołane; załączona aktualizacja usunie je "
        "z kalendarza.",
        "event.scheduled": "Zaplanowano nowe wydarzenie w Twoich sektorach.",
        "when": "Kiedy",
        "where": "Gdzie",
        "event": "Wydarzenie",
        "reason": "Powód",
        "online": "online",
        "digest.intro": "Powiadomienia o partnerach zebrane w dziennym podsumowaniu, "
        "według profilu:",
        "digest.events": "Nowe wydarzenia w Twoich sektorach:",
        "digest.withdrawn": "wycofane",
        "footer": "Otrzymujesz tę wiadomość zgodnie ze swoimi subskrypcjami i ustawieniami "
        "w Tandem.",
    },
    "de": {
        "subject.match.suggested": "Neuer Partnervorschlag: {a} ↔ {b} ({score})",
        "subject.match.updated": "Aktualisierter Vorschlag: {a} ↔ {b} ({score})",
        "subject.match.withdrawn": "Vorschlag zurückgezogen: {a} ↔ {b}",
        "subject.meeting.scheduled": "Treffen geplant: {a} ↔ {b} — {event}",
        "subject.meeting.cancelled": "Treffen abgesagt: {a} ↔ {b} — {event}",
        "subject.event.scheduled": "Neue Veranstaltung für Ihre Sektoren: {event}",
        "subject.digest": "Ihre Tandem-Zusammenfassung vom {date}",
        "greeting": "Guten Tag,",
        "intro.match.suggested": "Tandem hat einen neuen Partner gefunden.",
        "intro.match.updated": "Ein Partnervorschlag hat sich geändert.",
        "why": "Warum diese beiden",
        "score": "Bewertung",
        "needs_offers": "{x} sucht — {y} bietet",
        "need": "Bedarf",
        "offer": "Angebot",
        "withdrawn": "Dieser Vorschlag gilt nicht mehr ({reason}).",
        "meeting.scheduled": "Ein 1:1-Treffen wurde geplant. Die Einladung ist angehängt.",
        "meeting.cancelled": "Dieses Treffen wurde abgesagt; die angehängte Aktualisierung "
        "entfernt es aus Ihrem Kalender.",
        "event.scheduled": "Eine neue Veranstaltung für Ihre Sektoren wurde geplant.",
        "when": "Wann",
        "where": "Wo",
        "event": "Veranstaltung",
        "reason": "Grund",
        "online": "online",
        "digest.intro": "Partnervorschläge aus Ihrer täglichen Zusammenfassung, nach Profil:",
        "digest.events": "Neue Veranstaltungen für Ihre Sektoren:",
        "digest.withdrawn": "zurückgezogen",
        "footer": "Sie erhalten diese Nachricht aufgrund Ihrer Tandem-Abonnements und "
        "-Einstellungen.",
    },
    "sl": {
        "subject.match.suggested": "Nov partner: {a} ↔ {b} ({score})",
        "subject.match.updated": "Posodobljeno ujemanje: {a} ↔ {b} ({score})",
        "subject.match.withdrawn": "Ujemanje umaknjeno: {a} ↔ {b}",
        "subject.meeting.scheduled": "Sestanek načrtovan: {a} ↔ {b} — {event}",
        "subject.meeting.cancelled": "Sestanek odpovedan: {a} ↔ {b} — {event}",
        "subject.event.scheduled": "Nov dogodek za vaše sektorje: {event}",
        "subject.digest": "Vaš povzetek Tandem za {date}",
        "greeting": "Pozdravljeni,",
        "intro.match.suggested": "Tandem je našel novega partnerja.",
        "intro.match.updated": "Ujemanje partnerjev se je spremenilo.",
        "why": "Zakaj ta dva",
        "score": "Ocena",
        "needs_offers": "{x} potrebuje — {y} ponuja",
        "need": "Potreba",
        "offer": "Ponudba",
        "withdrawn": "To ujemanje ni več predlagano ({reason}).",
        "meeting.scheduled": "Načrtovan je sestanek 1:1. Vabilo je priloženo.",
        "meeting.cancelled": "Sestanek je odpovedan; priložena posodobitev ga odstrani "
        "iz vašega koledarja.",
        "event.scheduled": "Načrtovan je nov dogodek za vaše sektorje.",
        "when": "Kdaj",
        "where": "Kje",
        "event": "Dogodek",
        "reason": "Razlog",
        "online": "na spletu",
        "digest.intro": "Obvestila o partnerjih iz dnevnega povzetka, po profilih:",
        "digest.events": "Novi dogodki za vaše sektorje:",
        "digest.withdrawn": "umaknjeno",
        "footer": "To sporočilo prejemate zaradi svojih naročnin in nastavitev v Tandemu.",
    },
}


def strings(language: str) -> Mapping[str, str]:
    """The language's words, any missing key falling back to English."""
    chosen = STRINGS.get(language, {})
    return {**STRINGS[FALLBACK], **chosen}
