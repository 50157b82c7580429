-- Automations: a trigger, entry rules and a flow of steps that contacts
-- walk one by one. The flow is a tree kept as JSON, each step with an id
-- unique in its automation; a journey's place is the id of its step.

CREATE TABLE automations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'archived')),
    -- The trigger, whole as JSON, and what finds the automation when
    -- something happens: its kind, and the list, tag, campaign or segment
    -- (ref) or the event or attribute name (key) it waits for.
    trigger      TEXT NOT NULL DEFAULT '{"kind":"manual"}',
    trigger_kind TEXT NOT NULL DEFAULT 'manual',
    trigger_ref  INTEGER NOT NULL DEFAULT 0,
    trigger_key  TEXT NOT NULL DEFAULT '',
    -- Who may enter, and when: once ever or again, how often, the goal.
    entry        TEXT NOT NULL DEFAULT '{}',
    goal_event   TEXT NOT NULL DEFAULT '',
    flow         TEXT NOT NULL DEFAULT '{"steps":[]}',
    next_step    INTEGER NOT NULL DEFAULT 1,
    entered      INTEGER NOT NULL DEFAULT 0,
    completed    INTEGER NOT NULL DEFAULT 0,
    exited       INTEGER NOT NULL DEFAULT 0,
    converted    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    activated_at INTEGER
);
CREATE INDEX automations_trigger ON automations(trigger_kind, trigger_ref, trigger_key) WHERE status = 'active';
CREATE INDEX automations_goal ON automations(goal_event) WHERE status = 'active' AND goal_event != '';

-- A journey is one contact's way through an automation, from entering to
-- the end: the step it is at, and when that step is due. The engine claims
-- due journeys with a lease, as the dispatcher claims sends.
CREATE TABLE automation_journeys (
    id            INTEGER PRIMARY KEY,
    automation_id INTEGER NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    contact_id    INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    -- entry counts the contact's journeys through this automation: 1 the
    -- first time.
    entry         INTEGER NOT NULL DEFAULT 1,
    status        TEXT NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'completed', 'exited', 'converted', 'failed')),
    step_id       INTEGER NOT NULL,
    -- The step's own state: when it began, and the event a wait step waits
    -- for (it moves on when the event comes or at due_at, its timeout).
    step_started  INTEGER NOT NULL,
    waiting_for   TEXT NOT NULL DEFAULT '',
    due_at        INTEGER NOT NULL,
    lease_until   INTEGER,
    -- A test journey runs with its waits shortened to seconds.
    test          INTEGER NOT NULL DEFAULT 0,
    source        TEXT NOT NULL DEFAULT '',
    end_reason    TEXT NOT NULL DEFAULT '',
    entered_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    ended_at      INTEGER
);
CREATE INDEX automation_journeys_due ON automation_journeys(automation_id, due_at) WHERE status = 'active';
CREATE INDEX automation_journeys_tests ON automation_journeys(due_at) WHERE status = 'active' AND test = 1;
CREATE INDEX automation_journeys_step ON automation_journeys(automation_id, step_id) WHERE status = 'active';
CREATE INDEX automation_journeys_list ON automation_journeys(automation_id, id);
CREATE INDEX automation_journeys_contact ON automation_journeys(contact_id, automation_id);
CREATE INDEX automation_journeys_waiting ON automation_journeys(contact_id, waiting_for) WHERE status = 'active' AND waiting_for != '';
-- One journey at a time per contact and automation, and one test.
CREATE UNIQUE INDEX automation_journeys_one ON automation_journeys(automation_id, contact_id, test) WHERE status = 'active';

-- What happened at each step of a journey.
CREATE TABLE automation_history (
    id         INTEGER PRIMARY KEY,
    journey_id INTEGER NOT NULL REFERENCES automation_journeys(id) ON DELETE CASCADE,
    step_id    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX automation_history_journey ON automation_history(journey_id, id);

-- How many journeys have gone through each step.
CREATE TABLE automation_step_counts (
    automation_id INTEGER NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    step_id       INTEGER NOT NULL,
    passed        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (automation_id, step_id)
) WITHOUT ROWID;

-- An email step sends through a campaign of its own, which never finishes
-- while the automation lives: its outbox, relays, limits, tracking and
-- reports are a campaign's. A contact who enters again gets the email from
-- the campaign of that entry, so each journey has its own send.
ALTER TABLE campaigns ADD COLUMN automation_id INTEGER REFERENCES automations(id) ON DELETE CASCADE;
ALTER TABLE campaigns ADD COLUMN automation_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN automation_entry INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX campaigns_automation_step ON campaigns(automation_id, automation_step, automation_entry) WHERE automation_id IS NOT NULL;
