"""The one catalogue of interface text: Dutch (default) and English.

Templates and Python code never carry interface text of their own; they name a key
here (``t("worklist.title")``) or a value (``v("obligated")``). Keys:

* ``event.<type>`` / ``event.<type>.help`` — the events of :data:`engine.commands.EVENT_SCHEMAS`;
* ``field.<name>`` — the fields of those schemas (and a few of the dossier);
* ``value.<code>`` — codes the engine speaks (enum values, target groups, reasons,
  infraction types, outcomes, deadlines, fee items, regions, agencies, steps);
* ``kind.<kind>`` — journal entry kinds; everything else is a page's own text.

``tests/web/test_i18n.py`` checks that both languages have every key, that every
schema field and enum value has a label, and that templates carry no literal text.
"""
from __future__ import annotations

from typing import Iterable

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

#: key → (Dutch, English)
MESSAGES: dict[str, tuple[str, str]] = {
    # ----- frame ---------------------------------------------------------
    "app.name": ("Inburgering", "Civic integration"),
    "app.tagline": ("Werkomgeving inburgeringstraject", "Civic-integration trajectory workspace"),
    "nav.label": ("Hoofdmenu", "Main menu"),
    "nav.worklist": ("Werklijst", "Worklist"),
    "nav.enforcement": ("Handhaving", "Enforcement"),
    "nav.audit": ("Audit", "Audit"),
    "nav.reports": ("Rapporten", "Reports"),
    "nav.skip": ("Naar de inhoud", "Skip to content"),
    "nav.language": ("Taal", "Language"),
    "nav.logout": ("Afmelden", "Log out"),
    "nav.signed_in_as": ("Aangemeld als {user} ({role})", "Signed in as {user} ({role})"),
    "nav.signed_in_as_agency": ("Aangemeld als {user} ({role}, {agency})", "Signed in as {user} ({role}, {agency})"),
    "lang.nl": ("Nederlands", "Nederlands"),
    "lang.en": ("English", "English"),
    "footer.today": ("Datum volgens de motorklok: {day}", "Date on the engine clock: {day}"),
    "footer.api": ("API-documentatie", "API documentation"),
    "common.yes": ("ja", "yes"),
    "common.no": ("nee", "no"),
    "common.none": ("–", "–"),
    "common.back_to_dossier": ("Terug naar het dossier", "Back to the dossier"),
    "common.days": ("{n} dagen", "{n} days"),
    "common.eur": ("€ {amount}", "EUR {amount}"),
    "common.show": ("Tonen", "Show"),
    "common.page_nav": ("Paginering", "Pagination"),
    "common.previous": ("Vorige", "Previous"),
    "common.next": ("Volgende", "Next"),
    "common.page_of": ("Pagina {page} van {pages} ({total} resultaten)", "Page {page} of {pages} ({total} results)"),
    "common.dossier": ("Dossier", "Dossier"),
    "common.status": ("Status", "Status"),
    "common.date": ("Datum", "Date"),
    "common.actor": ("Door", "By"),
    "common.details": ("Details", "Details"),
    "common.saved": ("Opgeslagen: {event}.", "Saved: {event}."),

    # ----- login and errors ------------------------------------------------
    "login.title": ("Aanmelden", "Sign in"),
    "login.intro": ("Ontwikkelaarsaanmelding: kies een rol en een gebruikersnaam. U krijgt een token zoals "
                    "'inburgering token' het uitgeeft; het wordt in een beveiligde cookie bewaard.",
                    "Development sign-in: choose a role and a user name. You get a token as "
                    "'inburgering token' issues it; it is kept in a protected cookie."),
    "login.role": ("Rol", "Role"),
    "login.user": ("Gebruikersnaam", "User name"),
    "login.agency": ("Agentschap (verplicht voor trajectbegeleiders)", "Agency (required for caseworkers)"),
    "login.agency_none": ("geen", "none"),
    "login.token": ("Of plak een bestaand token", "Or paste an existing token"),
    "login.submit": ("Aanmelden", "Sign in"),
    "login.required": ("Vul een gebruikersnaam in.", "Enter a user name."),
    "login.needs_agency": ("Een trajectbegeleider hoort bij een agentschap.", "A caseworker belongs to an agency."),
    "login.bad_token": ("Dit token is niet geldig: {reason}", "This token is not valid: {reason}"),
    "login.expired": ("Uw sessie is verlopen of u bent niet aangemeld. Meld u aan.",
                      "Your session expired or you are not signed in. Please sign in."),
    "error.title": ("Er ging iets mis", "Something went wrong"),
    "error.not_found": ("Dit dossier bestaat niet of hoort niet bij uw agentschap.",
                        "This dossier does not exist or does not belong to your agency."),
    "error.forbidden": ("Uw rol ({role}) geeft geen toegang tot deze pagina.",
                        "Your role ({role}) gives no access to this page."),
    "error.form": ("Het formulier bevat fouten. Verbeter de gemarkeerde velden.",
                   "The form has errors. Please correct the marked fields."),
    "error.conflict": ("Niet opgeslagen: {message}", "Not saved: {message}"),
    "error.refused": ("Niet opgeslagen: {message}", "Not saved: {message}"),
    "error.stale": ("Het dossier is intussen gewijzigd. Herlaad het dossier en probeer opnieuw.",
                    "The dossier was changed meanwhile. Reload the dossier and try again."),
    "error.required": ("Dit veld is verplicht.", "This field is required."),
    "error.choice": ("Kies een van de mogelijkheden.", "Choose one of the options."),
    "error.number": ("Vul een getal in.", "Enter a number."),
    "error.range": ("Vul een waarde in tussen {low} en {high}.", "Enter a value between {low} and {high}."),
    "error.min": ("De waarde moet minstens {low} zijn.", "The value must be at least {low}."),
    "error.above": ("De waarde moet groter zijn dan {low}.", "The value must be greater than {low}."),
    "error.max": ("De waarde mag hoogstens {high} zijn.", "The value must be at most {high}."),
    "error.date": ("Vul een geldige datum in (jjjj-mm-dd).", "Enter a valid date (yyyy-mm-dd)."),
    "error.pattern": ("Dit formaat klopt niet.", "This format is not valid."),
    "error.invalid": ("Ongeldige waarde: {message}", "Invalid value: {message}"),
    "error.year": ("Vul een jaartal in tussen 1900 en 2999.", "Enter a year between 1900 and 2999."),

    # ----- worklist ----------------------------------------------------------
    "worklist.title": ("Werklijst", "Worklist"),
    "worklist.intro": ("Dossiers van {agency} die op een stap wachten, de vroegste wettelijke termijn eerst.",
                       "Dossiers of {agency} waiting on a step, soonest legal deadline first."),
    "worklist.intro_all": ("Dossiers die op een stap wachten, de vroegste wettelijke termijn eerst.",
                           "Dossiers waiting on a step, soonest legal deadline first."),
    "worklist.filters": ("Filters", "Filters"),
    "worklist.step": ("Stap", "Step"),
    "worklist.target_group": ("Doelgroep", "Target group"),
    "worklist.agency": ("Agentschap", "Agency"),
    "worklist.overdue": ("Alleen termijn verstreken", "Overdue only"),
    "worklist.any": ("alle", "all"),
    "worklist.apply": ("Filteren", "Filter"),
    "worklist.caption": ("Wachtende dossiers", "Waiting dossiers"),
    "worklist.waiting_on": ("Wacht op", "Waiting on"),
    "worklist.deadline": ("Laatste tijdige dag", "Last timely day"),
    "worklist.days_left": ("Resterend", "Left"),
    "worklist.empty": ("Geen dossiers voor deze filters.", "No dossiers for these filters."),
    "worklist.region": ("Regio", "Region"),

    # ----- dossier -----------------------------------------------------------
    "dossier.title": ("Dossier {id}", "Dossier {id}"),
    "dossier.facts": ("Gegevens", "Facts"),
    "dossier.target_group": ("Doelgroep", "Target group"),
    "dossier.reasons": ("Redenen", "Reasons"),
    "dossier.no_reasons": ("geen bijzondere redenen", "no particular reasons"),
    "dossier.decided_by": ("Beslist door regelset {ruleset} versie {version} op {on}",
                           "Decided by ruleset {ruleset} version {version} on {on}"),
    "dossier.components": ("Componenten", "Components"),
    "dossier.component": ("Component", "Component"),
    "dossier.listed": ("In het contract", "In the contract"),
    "dossier.fulfilled_on": ("Vervuld op", "Fulfilled on"),
    "dossier.fulfilled_by": ("Vervuld door", "Fulfilled by"),
    "dossier.open": ("open", "open"),
    "dossier.deadlines": ("Termijnen", "Deadlines"),
    "dossier.deadline": ("Termijn", "Deadline"),
    "dossier.start": ("Start", "Start"),
    "dossier.last_timely_day": ("Laatste tijdige dag", "Last timely day"),
    "dossier.days_left": ("Resterend", "Left"),
    "dossier.no_deadlines": ("Geen termijnen.", "No deadlines."),
    "dossier.infractions": ("Inbreuken en ingebrekestellingen", "Infractions and notices of default"),
    "dossier.infraction": ("Inbreuk", "Infraction"),
    "dossier.established_on": ("Vastgesteld op", "Established on"),
    "dossier.notice_on": ("Ingebrekestelling", "Notice of default"),
    "dossier.regularisation_last_day": ("Regularisatie tot", "Regularisation until"),
    "dossier.handed_over_on": ("Overgedragen op", "Handed over on"),
    "dossier.decision": ("Beslissing", "Decision"),
    "dossier.fine": ("Boete", "Fine"),
    "dossier.no_infractions": ("Geen inbreuken.", "No infractions."),
    "dossier.fees": ("Kosten", "Fees"),
    "dossier.fee_item": ("Onderdeel", "Item"),
    "dossier.amount": ("Bedrag", "Amount"),
    "dossier.fees_total": ("Totaal", "Total"),
    "dossier.no_fees": ("Geen kosten aangerekend.", "No fees charged."),
    "dossier.progress": ("Traject", "Trajectory"),
    "dossier.registered_on": ("Aangemeld op", "Registered on"),
    "dossier.advice": ("Advies", "Advice"),
    "dossier.contract_signed_on": ("Contract ondertekend op", "Contract signed on"),
    "dossier.attest_on": ("Attest op", "Attest on"),
    "dossier.b1_check": ("B1-controle", "B1 check"),
    "dossier.version": ("Versie", "Version"),
    "dossier.waiting_on": ("Wacht op", "Waiting on"),
    "dossier.waiting_nothing": ("niets", "nothing"),
    "dossier.diagram": ("Procesdiagram", "Process diagram"),
    "dossier.diagram_trajectory": ("Inburgeringstraject ({label})", "Trajectory ({label})"),
    "dossier.diagram_enforcement": ("Handhaving voor inbreuk {infraction} ({label})",
                                    "Enforcement of infraction {infraction} ({label})"),
    "dossier.diagram_legend": ("Legende", "Legend"),
    "dossier.legend_waiting": ("huidige wachttoestand", "current wait state"),
    "dossier.legend_armed": ("lopende timer", "running timer"),
    "dossier.legend_done": ("afgelegd pad", "path taken"),
    "dossier.diagram_text": ("Wachttoestanden: {waiting}. Afgelegd: {done}.", "Wait states: {waiting}. Done: {done}."),
    "dossier.diagram_failed": ("Het diagram kon niet worden getoond.", "The diagram could not be shown."),
    "dossier.diagram_noscript": ("Het diagram heeft JavaScript nodig; de tekst hierboven vat het samen.",
                                 "The diagram needs JavaScript; the text above summarises it."),
    "dossier.no_instance": ("Geen lopend proces voor dit dossier.", "No process runs for this dossier."),
    "dossier.actions": ("Gebeurtenis registreren", "Record an event"),
    "dossier.suggested": ("Voor de huidige stap", "For the current step"),
    "dossier.other_events": ("Andere gebeurtenissen", "Other events"),
    "dossier.timeline": ("Tijdlijn", "Timeline"),
    "dossier.timeline_more": ("Meer van de tijdlijn", "More of the timeline"),
    "dossier.audit_link": ("Auditweergave van dit dossier", "Audit view of this dossier"),
    "dossier.decide_link": ("Beslissen", "Decide"),

    # ----- event forms ------------------------------------------------------
    "form.title": ("{event} — dossier {id}", "{event} — dossier {id}"),
    "form.submit": ("Registreren", "Record"),
    "form.no_fields": ("Deze gebeurtenis heeft geen velden; bevestig om ze te registreren.",
                       "This event has no fields; confirm to record it."),
    "form.choose": ("— kies —", "— choose —"),
    "form.required_note": ("Velden met * zijn verplicht.", "Fields marked * are required."),
    "form.required_mark": ("verplicht", "required"),
    "form.error_prefix": ("Fout", "Error"),
    "form.cancel": ("Annuleren", "Cancel"),

    # ----- enforcement --------------------------------------------------------
    "enforcement.title": ("Handhaving: te beslissen", "Enforcement: to decide"),
    "enforcement.intro": ("Overgedragen inbreuken die op een beslissing wachten.",
                          "Handed-over infractions waiting for a decision."),
    "enforcement.caption": ("Overgedragen inbreuken", "Handed-over infractions"),
    "enforcement.empty": ("Er wacht geen inbreuk op een beslissing.", "No infraction is waiting for a decision."),
    "enforcement.decide": ("Beslissen over {id}", "Decide on {id}"),

    # ----- audit -------------------------------------------------------------
    "audit.title": ("Audit", "Audit"),
    "audit.intro": ("Geschiedenis, toestand op een datum en herafspelen van een dossier; jaarrapporten.",
                    "History, state as of a date and replay of a dossier; yearly reports."),
    "audit.find": ("Dossier opzoeken", "Find a dossier"),
    "audit.dossier_id": ("Dossiernummer", "Dossier id"),
    "audit.open": ("Openen", "Open"),
    "audit.dossier_title": ("Audit van dossier {id}", "Audit of dossier {id}"),
    "audit.history": ("Geschiedenis (journaal)", "History (journal)"),
    "audit.seq": ("Nr.", "No."),
    "audit.kind": ("Soort", "Kind"),
    "audit.summary": ("Inhoud", "Content"),
    "audit.hash": ("Hash", "Hash"),
    "audit.as_of": ("Toestand op een datum", "State as of a date"),
    "audit.as_of_date": ("Datum", "Date"),
    "audit.as_of_submit": ("Toestand tonen", "Show state"),
    "audit.as_of_result": ("Toestand op het einde van {day}", "State at the end of {day}"),
    "audit.journal_seq": ("Tot en met journaalregel {seq}", "Up to journal entry {seq}"),
    "audit.consistent": ("Herafspelen geeft hetzelfde resultaat", "Replaying gives the same result"),
    "audit.journal_intact": ("Journaal onaangetast", "Journal intact"),
    "audit.replay": ("Herafspelen", "Replay"),
    "audit.replay_intro": ("Voert de gejournaliseerde invoer opnieuw uit op de opgenomen proces- en "
                           "regelversies en vergelijkt met het journaal.",
                           "Re-executes the journaled inputs on the recorded process and rule versions "
                           "and compares with the journal."),
    "audit.replay_submit": ("Herafspelen", "Replay"),
    "audit.replay_ok": ("Identiek herafgespeeld: {n} journaalregels gecontroleerd.",
                        "Replayed identically: {n} journal entries checked."),
    "audit.replay_diverged": ("Afwijking: {message}", "Divergence: {message}"),
    "audit.reports": ("Jaarrapport", "Yearly report"),
    "audit.year": ("Jaar", "Year"),
    "audit.report_as_of": ("Zoals gejournaliseerd op (optioneel)", "As journaled on (optional)"),
    "audit.report_submit": ("Rapport tonen", "Show report"),
    "audit.report_title": ("Rapport {year}", "Report {year}"),
    "audit.report_horizon": ("Journaal tot {horizon}, {dossiers} dossiers", "Journal up to {horizon}, {dossiers} dossiers"),
    "audit.report_snapshot": ("Zoals gejournaliseerd op {as_of}, {dossiers} dossiers",
                              "As journaled on {as_of}, {dossiers} dossiers"),
    "audit.chart": ("Grafiek", "Chart"),
    "audit.chart_alt": ("Grafiek van het rapport {year}; dezelfde cijfers staan in de tabellen.",
                        "Chart of the {year} report; the same figures are in the tables."),
    "audit.csv": ("Als CSV downloaden", "Download as CSV"),

    "report.registrations": ("Aanmeldingen per agentschap/regio en doelgroep", "Registrations by agency/region and target group"),
    "report.advice": ("Advies bij de intake", "Advice at intake"),
    "report.vdab_within_2_months": ("VDAB-inschrijving binnen 2 maanden na het contract",
                                    "VDAB registration within 2 months of the contract"),
    "report.attest_duration_months": ("Mediaan aantal maanden van contract tot attest",
                                      "Median months from contract to attest"),
    "report.mo_tests": ("Resultaten MO-testen", "MO test results"),
    "report.attests": ("Uitgereikte attesten", "Attests issued"),
    "report.first_infractions": ("Eerste inbreuken", "First infractions"),
    "report.handed_over": ("Overgedragen inbreuken", "Infractions handed over"),
    "report.first_handed_over": ("Dossiers voor het eerst overgedragen", "Dossiers handed over for the first time"),
    "report.section": ("Rapportonderdeel {section}", "Report section {section}"),

    # ----- journal kinds --------------------------------------------------------
    "kind.import": ("Ingevoerd uit het register", "Imported from the register"),
    "kind.rule_decision": ("Regelbeslissing", "Rule decision"),
    "kind.instance_started": ("Proces gestart", "Process started"),
    "kind.timer_armed": ("Timer gezet", "Timer armed"),
    "kind.timer_moved": ("Timer verplaatst", "Timer moved"),
    "kind.timer_disarmed": ("Timer vervallen", "Timer disarmed"),
    "kind.command": ("Gebeurtenis geregistreerd", "Event recorded"),
    "kind.task_completed": ("Stap afgerond", "Step completed"),
    "kind.fee_charged": ("Kosten aangerekend", "Fee charged"),
    "kind.component_fulfilled": ("Component vervuld", "Component fulfilled"),
    "kind.timer_fired": ("Termijn verstreken", "Deadline passed"),
    "kind.infraction_established": ("Inbreuk vastgesteld", "Infraction established"),
    "kind.notice_issued": ("Ingebrekestelling verstuurd", "Notice of default issued"),
    "kind.handed_over": ("Overgedragen aan handhaving", "Handed over to enforcement"),
    "kind.infraction_closed": ("Inbreuk afgesloten", "Infraction closed"),
    "kind.decision_recorded": ("Beslissing handhaving", "Enforcement decision"),
    "kind.attest_issued": ("Attest uitgereikt", "Attest issued"),
    "kind.b1_checked": ("B1-controle uitgevoerd", "B1 check done"),
    "kind.deadline_extended": ("Termijn verlengd", "Deadline extended"),
    "kind.annulment_requested": ("Vernietiging gevraagd", "Annulment requested"),
    "kind.sweep": ("Dagelijkse termijncontrole", "Daily deadline sweep"),

    # ----- events (engine.commands.EVENT_SCHEMAS) ----------------------------------
    "event.registered": ("Aanmelding bij het agentschap", "Registration at the agency"),
    "event.registered.help": ("De inburgeraar meldt zich aan bij het agentschap.", "The newcomer registers at the agency."),
    "event.intake": ("Intake en advies", "Intake and advice"),
    "event.intake.help": ("Advies over het leertraject na de intake.", "Learning-capacity advice at the intake."),
    "event.mo_exemption_test": ("Vrijstellingstest MO", "MO exemption test"),
    "event.mo_exemption_test.help": ("Wie slaagt, is vrijgesteld van MO.", "Passing fulfils MO."),
    "event.refused_intake_or_contract": ("Weigering intake of contract", "Intake or contract refused"),
    "event.refused_intake_or_contract.help": ("De inburgeraar weigert de intake of het contract.",
                                              "The newcomer refuses the intake or the contract."),
    "event.contract_signed": ("Inburgeringscontract ondertekend", "Integration contract signed"),
    "event.contract_signed.help": ("Kruis aan wat de inburgeraar nog moet doen.",
                                   "Tick what the newcomer still has to do."),
    "event.vdab_registered": ("Ingeschreven bij VDAB / Actiris", "Registered with VDAB / Actiris"),
    "event.vdab_registered.help": ("De inburgeraar is ingeschreven als werkzoekende.", "The newcomer registered as a job seeker."),
    "event.vdab_exempt": ("Vrijgesteld van VDAB-inschrijving", "Exempt from VDAB registration"),
    "event.vdab_exempt.help": ("Reden van de vrijstelling.", "Reason for the exemption."),
    "event.attendance": ("Aanwezigheid", "Attendance"),
    "event.attendance.help": ("Onder 80 % is onregelmatige deelname.", "Below 80 % is irregular participation."),
    "event.test_result": ("Testresultaat", "Test result"),
    "event.test_result.help": ("MO: kernscore en totaalscore; NT2: niveau.", "MO: core and total score; NT2: level."),
    "event.test_refused": ("Test geweigerd", "Test refused"),
    "event.test_refused.help": ("De inburgeraar weigert een test.", "The newcomer refuses a test."),
    "event.pnt_hours": ("Uren participatie- en netwerktraject", "Participation and network hours"),
    "event.pnt_hours.help": ("Gepresteerde uren PNT.", "Hours of the participation and network trajectory."),
    "event.pnt_not_fulfilled": ("PNT niet vervuld", "PNT not fulfilled"),
    "event.pnt_not_fulfilled.help": ("Het participatie- en netwerktraject is niet vervuld.",
                                     "The participation and network trajectory is not fulfilled."),
    "event.activity": ("Werk, studie of opleiding", "Work, study or training"),
    "event.activity.help": ("Een periode die meetelt voor de B1-controle.", "A period that counts for the B1 check."),
    "event.suspended": ("Schorsing", "Suspension"),
    "event.suspended.help": ("Lopende termijnen schuiven op met de geschorste dagen.",
                             "Running deadlines move by the suspended days."),
    "event.moved": ("Verhuisd", "Moved"),
    "event.moved.help": ("Nieuwe gemeente (NIS-code); de doelgroep wordt opnieuw bepaald.",
                         "New municipality (NIS code); the target group is decided again."),
    "event.residence_changed": ("Verblijfsstatus gewijzigd", "Residence status changed"),
    "event.residence_changed.help": ("De doelgroep wordt opnieuw bepaald.", "The target group is decided again."),
    "event.b1_test": ("Mondelinge B1-test", "Oral B1 test"),
    "event.b1_test.help": ("Een geslaagde test geldt als bewijs van B1.", "A passed test counts as proof of B1."),
    "event.b1_attained": ("Bewijs van B1", "Proof of B1"),
    "event.b1_attained.help": ("De inburgeraar bewijst mondeling B1.", "The newcomer proves oral B1."),
    "event.enforcement_decision": ("Beslissing handhaving", "Enforcement decision"),
    "event.enforcement_decision.help": ("Beslissing over de oudste overgedragen inbreuk van dit type.",
                                        "Decision on the oldest handed-over infraction of this type."),

    # ----- fields ----------------------------------------------------------------
    "field.advice": ("Advies", "Advice"),
    "field.core_percent": ("Kernscore (%)", "Core score (%)"),
    "field.total_percent": ("Totaalscore (%)", "Total score (%)"),
    "field.components": ("Componenten in het contract", "Components in the contract"),
    "field.reason": ("Reden", "Reason"),
    "field.component": ("Component", "Component"),
    "field.percent": ("Aanwezigheid (%)", "Attendance (%)"),
    "field.level": ("Niveau", "Level"),
    "field.hours": ("Uren", "Hours"),
    "field.kind": ("Soort", "Kind"),
    "field.from": ("Van", "From"),
    "field.to": ("Tot en met", "To"),
    "field.nis_code": ("NIS-code van de gemeente", "NIS code of the municipality"),
    "field.residence": ("Verblijfsstatus", "Residence status"),
    "field.passed": ("Geslaagd", "Passed"),
    "field.infraction": ("Inbreuk", "Infraction"),
    "field.decision": ("Beslissing", "Decision"),
    "field.fine_eur": ("Boete (EUR)", "Fine (EUR)"),
    "field.id": ("Dossiernummer", "Dossier id"),
    "field.birth_date": ("Geboortedatum", "Birth date"),
    "field.nationalities": ("Nationaliteiten", "Nationalities"),
    "field.obligation_start": ("Start van de plicht", "Obligation start"),
    "field.minister_of_religion": ("Bedienaar van een eredienst", "Minister of religion"),
    "field.belgian_born_abroad": ("Belg geboren in het buitenland", "Belgian born abroad"),
    "field.moved_in_from": ("Ingeweken uit", "Moved in from"),
    "field.evidence": ("Bewijsstukken", "Evidence"),
    "field.agency": ("Agentschap", "Agency"),
    "field.region": ("Regio", "Region"),

    # ----- values ------------------------------------------------------------------
    # roles
    "value.caseworker": ("trajectbegeleider", "caseworker"),
    "value.enforcement_officer": ("handhavingsambtenaar", "enforcement officer"),
    "value.auditor": ("auditor", "auditor"),
    "value.admin": ("beheerder", "administrator"),
    "value.system": ("systeem", "system"),
    # agencies and regions
    "value.atlas": ("Atlas (Antwerpen)", "Atlas (Antwerp)"),
    "value.amal": ("In-Gent (Gent)", "In-Gent (Ghent)"),
    "value.agii": ("Agentschap Integratie en Inburgering", "Agency for Integration and Civic Integration"),
    "value.antwerpen_stad": ("Antwerpen (stad)", "Antwerp (city)"),
    "value.gent_stad": ("Gent (stad)", "Ghent (city)"),
    "value.brussel": ("Brussel", "Brussels"),
    "value.limburg": ("Limburg", "Limburg"),
    "value.oost_vlaanderen": ("Oost-Vlaanderen", "East Flanders"),
    "value.provincie_antwerpen": ("Provincie Antwerpen", "Province of Antwerp"),
    "value.vlaams_brabant": ("Vlaams-Brabant", "Flemish Brabant"),
    "value.west_vlaanderen": ("West-Vlaanderen", "West Flanders"),
    # target groups
    "value.obligated": ("verplicht", "obligated"),
    "value.entitled": ("gerechtigd", "entitled"),
    "value.excluded": ("uitgesloten", "excluded"),
    # steps (user tasks)
    "value.register": ("Aanmelding", "Registration"),
    "value.intake": ("Intake", "Intake"),
    "value.contract": ("Contract", "Contract"),
    "value.mo": ("Maatschappelijke oriëntatie (MO)", "Civic orientation (MO)"),
    "value.nt2": ("Nederlands tweede taal (NT2)", "Dutch as a second language (NT2)"),
    "value.pnt": ("Participatie- en netwerktraject (PNT)", "Participation and network trajectory (PNT)"),
    "value.vdab": ("Inschrijving VDAB / Actiris", "VDAB / Actiris registration"),
    "value.decide": ("Beslissing handhaving", "Enforcement decision"),
    # deadlines
    "value.registration": ("aanmelding", "registration"),
    "value.reregistration": ("nieuwe aanmelding na inbreuk", "re-registration after an infraction"),
    "value.b1": ("B1-controle", "B1 check"),
    "value.regularisation": ("regularisatie", "regularisation"),
    "value.running": ("loopt", "running"),
    "value.met": ("gehaald", "met"),
    "value.fired": ("verstreken", "passed"),
    # advice
    "value.cbe_alfa": ("CBE alfabetisering", "CBE literacy"),
    "value.cbe": ("CBE", "CBE"),
    "value.cbe_nt2": ("CBE NT2", "CBE NT2"),
    "value.cvo_extended": ("CVO uitgebreid", "CVO extended"),
    "value.cvo_standard": ("CVO standaard", "CVO standard"),
    "value.cvo_short_utc": ("CVO kort (UTC)", "CVO short (UTC)"),
    # VDAB exemption reasons
    "value.working": ("werkt", "working"),
    "value.no_labour_market_access": ("geen toegang tot de arbeidsmarkt", "no labour-market access"),
    "value.unfit_for_work": ("arbeidsongeschikt", "unfit for work"),
    # language levels
    "value.below_A1": ("onder A1", "below A1"),
    "value.A1": ("A1", "A1"),
    "value.A2": ("A2", "A2"),
    "value.B1": ("B1", "B1"),
    "value.B2": ("B2", "B2"),
    # activities
    "value.work": ("werk", "work"),
    "value.study": ("studie", "study"),
    "value.training": ("opleiding", "training"),
    # enforcement decisions and infraction outcomes
    "value.fine": ("boete", "fine"),
    "value.no_fine": ("geen boete", "no fine"),
    "value.no_follow_up": ("geen gevolg", "no follow-up"),
    "value.open": ("open", "open"),
    "value.regularised": ("geregulariseerd", "regularised"),
    "value.handed_over": ("overgedragen", "handed over"),
    "value.fined": ("beboet", "fined"),
    "value.not_fined": ("niet beboet", "not fined"),
    "value.annulled": ("vernietigd", "annulled"),
    # infraction types
    "value.late_registration": ("niet tijdig aangemeld", "late registration"),
    "value.late_registration_after_infraction": ("na inbreuk niet tijdig aangemeld", "late re-registration after an infraction"),
    "value.late_vdab_registration": ("niet tijdig ingeschreven bij VDAB", "late VDAB registration"),
    "value.b1_not_attained": ("B1 niet behaald", "B1 not attained"),
    "value.refused_test": ("test geweigerd", "test refused"),
    "value.refused_intake_or_contract": ("intake of contract geweigerd", "intake or contract refused"),
    "value.pnt_not_fulfilled": ("PNT niet vervuld", "PNT not fulfilled"),
    "value.irregular_participation": ("onregelmatige deelname", "irregular participation"),
    "value.early_termination": ("vroegtijdige stopzetting", "early termination"),
    # B1 outcomes
    "value.pending": ("nog niet beslist", "pending"),
    "value.attained": ("behaald", "attained"),
    "value.exempt": ("vrijgesteld", "exempt"),
    "value.not_working_age": ("niet op beroepsactieve leeftijd", "not of working age"),
    "value.infraction": ("inbreuk", "infraction"),
    # fee items and ways a component is fulfilled
    "value.mo_course": ("cursus MO", "MO course"),
    "value.nt2_course": ("cursus NT2", "NT2 course"),
    "value.mo_test": ("test MO", "MO test"),
    "value.nt2_test": ("test NT2", "NT2 test"),
    "value.mo_exemption_test": ("vrijstellingstest MO", "MO exemption test"),
    "value.b1_test": ("B1-test", "B1 test"),
    "value.not_in_contract": ("niet in het contract", "not in the contract"),
    "value.mo_passed": ("MO eerder behaald", "MO passed earlier"),
    "value.nt2_passed": ("NT2 eerder behaald", "NT2 passed earlier"),
    "value.pnt_hours": ("uren PNT", "PNT hours"),
    "value.vdab_registered": ("ingeschreven bij VDAB", "registered with VDAB"),
    "value.vdab_exempt": ("vrijgesteld van VDAB", "exempt from VDAB"),
    "value.pension_age": ("pensioenleeftijd", "pension age"),
    # target-group reasons (exclusions, Brussels, exemptions)
    "value.no_legal_residence": ("geen wettig verblijf", "no legal residence"),
    "value.short_stay": ("kort verblijf", "short stay"),
    "value.asylum_pending": ("asielaanvraag loopt", "asylum application pending"),
    "value.temporary_purpose": ("tijdelijk verblijfsdoel", "temporary purpose of stay"),
    "value.minor": ("minderjarig", "minor"),
    "value.outside_area": ("woont buiten Vlaanderen en Brussel", "lives outside Flanders and Brussels"),
    "value.brussels_resident": ("woont in Brussel", "lives in Brussels"),
    "value.eu_plus": ("EU+-onderdaan", "EU+ national"),
    "value.eu_family": ("familielid van een EU-burger", "family member of an EU citizen"),
    "value.free_movement": ("vrij verkeer", "free movement"),
    "value.illness_disability": ("ziekte of handicap", "illness or disability"),
    "value.has_attest": ("heeft al een attest", "already has an attest"),
    "value.reception_education": ("onthaalonderwijs", "reception education"),
    "value.temporary_migrant": ("tijdelijke migrant", "temporary migrant"),
    "value.temporary_protection": ("tijdelijke bescherming", "temporary protection"),
    "value.diploma_be_nl": ("Nederlandstalig diploma in België", "Dutch-language diploma in Belgium"),
    "value.age_65": ("65 jaar of ouder", "65 or older"),
    "value.family_of_temporary_migrant": ("gezin van een tijdelijke migrant", "family of a temporary migrant"),
    "value.fee_exempt": ("vrijgesteld van kosten", "exempt from fees"),
    # residence statuses
    "value.labour_migrant_eu": ("arbeidsmigrant (EU)", "labour migrant (EU)"),
    "value.labour_migrant_third_country": ("arbeidsmigrant (derde land)", "labour migrant (third country)"),
    "value.student_eu": ("student (EU)", "student (EU)"),
    "value.student_third_country": ("student (derde land)", "student (third country)"),
    "value.sufficient_means_eu": ("voldoende bestaansmiddelen (EU)", "sufficient means (EU)"),
    "value.eu_provisional": ("voorlopig verblijf (EU)", "provisional residence (EU)"),
    "value.family_reunification_third_country": ("gezinshereniging met derdelander", "family reunification (third country)"),
    "value.family_reunification_belgian": ("gezinshereniging met Belg", "family reunification (Belgian)"),
    "value.family_reunification_eu": ("gezinshereniging met EU-burger", "family reunification (EU)"),
    "value.family_reunification_refugee": ("gezinshereniging met erkend vluchteling", "family reunification (refugee)"),
    "value.family_reunification_subsidiary": ("gezinshereniging met subsidiair beschermde",
                                              "family reunification (subsidiary protection)"),
    "value.recognised_refugee": ("erkend vluchteling", "recognised refugee"),
    "value.subsidiary_protection": ("subsidiaire bescherming", "subsidiary protection"),
    "value.regularised_residence": ("geregulariseerd", "regularised"),
    "value.other_third_country": ("andere derdelander", "other third-country national"),
    "value.belgian_newcomer": ("Belgische nieuwkomer", "Belgian newcomer"),
    "value.asylum_seeker": ("asielzoeker", "asylum seeker"),
    "value.working_holiday": ("working holiday", "working holiday"),
    "value.exchange_student_short": ("uitwisselingsstudent (kort)", "exchange student (short)"),
    "value.temporary_worker_short": ("tijdelijke werknemer (kort)", "temporary worker (short)"),
    "value.seasonal_worker": ("seizoenarbeider", "seasonal worker"),
    "value.au_pair": ("au pair", "au pair"),
    "value.discretionary_short": ("humanitair kort verblijf", "discretionary short stay"),
    "value.brussels": ("Brussel", "Brussels"),
    "value.french_area": ("Franstalig gebied", "French-speaking area"),
    "value.german_area": ("Duitstalig gebied", "German-speaking area"),
    # processes and BPMN elements named in the journal
    "value.trajectory": ("inburgeringstraject", "trajectory"),
    "value.enforcement": ("handhaving", "enforcement"),
    "value.registration_deadline": ("aanmeldingstermijn", "registration deadline"),
    "value.reregistration_deadline": ("nieuwe aanmeldingstermijn", "re-registration deadline"),
    "value.vdab_deadline": ("VDAB-termijn", "VDAB deadline"),
    "value.b1_due": ("24 maanden na attest", "24 months after the attest"),
    "value.await_regularisation": ("regularisatietermijn", "regularisation period"),
    "value.target_group": ("doelgroep", "target group"),
    "value.attendance": ("aanwezigheid", "attendance"),
    "value.b1_check": ("B1-controle", "B1 check"),
    "value.test_refused": ("test geweigerd", "test refused"),

    # ----- timeline summaries ---------------------------------------------------------
    "timeline.import": ("Nieuwkomer {id} ingevoerd", "Newcomer {id} imported"),
    "timeline.rule_target_group": ("Doelgroep: {target_group}", "Target group: {target_group}"),
    "timeline.rule_infraction": ("Termijn/feit {trigger}: {result}", "Deadline/fact {trigger}: {result}"),
    "timeline.no_infraction": ("geen inbreuk ({reason})", "no infraction ({reason})"),
    "timeline.instance_started": ("{process}", "{process}"),
    "timeline.timer": ("{timer}, vervalt {due}", "{timer}, due {due}"),
    "timeline.command": ("{event}", "{event}"),
    "timeline.task_completed": ("{task}", "{task}"),
    "timeline.fee_charged": ("{item}: € {amount}", "{item}: EUR {amount}"),
    "timeline.component_fulfilled": ("{component} ({by})", "{component} ({by})"),
    "timeline.timer_fired": ("{timer}, laatste tijdige dag {day}", "{timer}, last timely day {day}"),
    "timeline.infraction": ("{type} ({infraction})", "{type} ({infraction})"),
    "timeline.notice_issued": ("{infraction}: regularisatie tot {day}", "{infraction}: regularisation until {day}"),
    "timeline.handed_over": ("{type} ({infraction})", "{type} ({infraction})"),
    "timeline.infraction_closed": ("{infraction}: {outcome}", "{infraction}: {outcome}"),
    "timeline.decision_recorded": ("{infraction}: {decision}", "{infraction}: {decision}"),
    "timeline.attest_issued": ("Attest op {day}", "Attest on {day}"),
    "timeline.b1_checked": ("Uitkomst: {outcome}", "Outcome: {outcome}"),
    "timeline.deadline_extended": ("{deadline}: {old} → {new}", "{deadline}: {old} → {new}"),
    "timeline.annulment_requested": ("{infraction}", "{infraction}"),
    "timeline.sweep": ("{timers}", "{timers}"),

    # ----- days left --------------------------------------------------------------------
    "days.left": ("nog {n} dagen", "{n} days left"),
    "days.left_one": ("nog 1 dag", "1 day left"),
    "days.today": ("vandaag laatste dag", "last day today"),
    "days.overdue": ("{n} dagen te laat", "{n} days overdue"),
    "days.overdue_one": ("1 dag te laat", "1 day overdue"),
}

# ``regularised`` is both an infraction outcome and a residence status; the residence enum
# value is shown through this alias (see :func:`value_key`).
_VALUE_ALIASES = {("residence", "regularised"): "regularised_residence"}


def normalise(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **kwargs) -> str:
    """The text of ``key`` in ``lang`` with ``{placeholders}`` filled; the key itself when unknown."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry[LANGUAGES.index(normalise(lang))]
    return text.format(**kwargs) if kwargs else text


def value_key(value, field: str | None = None) -> str:
    code = _VALUE_ALIASES.get((field, value), value)
    return f"value.{code}"


def value_label(lang: str, value, field: str | None = None) -> str:
    """The label of an engine code (``obligated`` → ``verplicht``); composite ``a:b`` codes part by part."""
    if value is None:
        return translate(lang, "common.none")
    if isinstance(value, bool):
        return translate(lang, "common.yes" if value else "common.no")
    key = value_key(value, field)
    if key in MESSAGES:
        return translate(lang, key)
    if isinstance(value, str) and ":" in value:
        return ": ".join(value_label(lang, part) for part in value.split(":"))
    return str(value)


class Translator:
    """Bound to one language; what templates call as ``t(...)``, ``v(...)``."""

    def __init__(self, lang: str | None):
        self.lang = normalise(lang)

    def t(self, key: str, **kwargs) -> str:
        return translate(self.lang, key, **kwargs)

    def v(self, value, field: str | None = None) -> str:
        return value_label(self.lang, value, field)

    def vs(self, values: Iterable, field: str | None = None) -> str:
        return ", ".join(self.v(value, field) for value in values)
