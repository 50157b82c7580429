package web

import (
	"slices"

	"herald/scheduler/outbound"
	"herald/store"
)

// Query parameters several lists share.
var (
	contactFilters = []apiParam{
		qs("tag", "Only contacts with this tag."),
		qs("status", "Only contacts with this status.", store.StatusActive, store.StatusUnsubscribed, store.StatusBounced, store.StatusComplained, store.StatusBlocked),
		qi("list_id", "Only members of this list."),
		qi("segment_id", "Only contacts this segment matches."),
	}
	allBreakdown   = qs("all", "1 for every row rather than the largest.", "1")
	messageFilters = []apiParam{
		qs("status", "Only messages with this status.", store.MessageQueued, store.MessageSending, store.MessageSent, store.MessageRetrying, store.MessageFailed, store.MessageSuppressed),
		qs("kind", "Only messages of this kind: sent through the API, or Herald's own.", store.MessageTransactional, store.MessageSystem),
		qs("category", "Only messages of this category."),
		qs("tag", "Only messages with this tag."),
		qs("to", "Only messages to addresses starting with this."),
	}
)

// apiOps documents every API route, by method and path as echo has it. A
// test checks it against the route table both ways.
var apiOps = map[string]apiOp{
	"GET /api/v1/openapi.json": {Summary: "This description", Doc: "The OpenAPI 3.1 description of this API, with this install's base URL as its server. It needs no key.",
		Data: nil, Raw: "application/json"},
	"GET /api/v1/me": {Summary: "The key in use", Doc: "Who am I: the key this call was made with and its scopes. Every key may call it.", Data: meJSON{}},

	// Settings and the install.
	"GET /api/v1/settings":               {Summary: "General settings", Data: store.General{}},
	"PATCH /api/v1/settings":             {Summary: "Change general settings", Doc: "Fields left out keep their value.", Body: generalPatch{}, Data: store.General{}, Example: `{"org_name": "Acme", "from_email": "news@example.com", "api_limits": {"read": 100, "write": 50, "send": 50}}`},
	"GET /api/v1/settings/feedback":      {Summary: "Bounce and webhook settings", Doc: "The addresses providers post bounces to carry secrets.", Data: feedbackSettings{}},
	"PUT /api/v1/settings/feedback":      {Summary: "Change bounce and webhook settings", Doc: "Fields left out keep their value; a key given as \"\" is removed.", Body: store.FeedbackSettings{}, Data: feedbackSettings{}, Example: `{"soft_bounce_limit": 3}`},
	"GET /api/v1/settings/emails":        {Summary: "The confirmation email", Doc: "The email that asks a double opt-in subscriber to confirm: Go text templates.", Data: confirmEmailJSON{}},
	"PUT /api/v1/settings/emails":        {Summary: "Change the confirmation email", Doc: "The text must contain {{.ConfirmURL}}.", Body: confirmEmailJSON{}, Data: confirmEmailJSON{}, Example: `{"subject": "Confirm your subscription to {{.ListName}}", "text": "Hello, confirm here: {{.ConfirmURL}}"}`},
	"GET /api/v1/jobs":                   {Summary: "Scheduled jobs", Doc: "The built-in scheduler's jobs, when each last ran and how.", Data: []jobJSON{}},
	"GET /api/v1/queues":                 {Summary: "Background queues", Doc: "Every durable queue, highest priority first: transactional, system, campaigns, imports, sources, webhooks. Each with its items counted by state, the oldest waiting, its throughput over the last minute and hour, its last error and whether it is paused.", Data: []queueJSON{}},
	"GET /api/v1/queues/:name":           {Summary: "A background queue", Data: queueJSON{}},
	"GET /api/v1/queues/:name/items":     {Summary: "A queue's items", Doc: "Items in one state, next due first (done ones newest first): their attempts, when next tried and the last error. Delayed items include scheduled campaigns and a source's next run.", Query: []apiParam{qs("state", "The state; waiting when left out.", store.QueueStates...), qi("limit", "At most this many, up to 200; 100 when left out."), qi("offset", "Skip this many first, for the next page.")}, Data: []queueItemJSON{}},
	"POST /api/v1/queues/:name/pause":    {Summary: "Pause a queue", Doc: "Its workers take no new item until it is resumed; what runs finishes. The transactional lane is never paused (409): throttle it. The name cron pauses the scheduled jobs, which then skip the runs that fall due.", Data: queueJSON{}},
	"POST /api/v1/queues/:name/resume":   {Summary: "Resume a queue", Data: queueJSON{}},
	"POST /api/v1/queues/:name/retry":    {Summary: "Retry failed items", Doc: "The one named by id, or all with all true: failed messages and deliveries are queued again (a message that reached some of its recipients is not), failed sends while their campaign sends and to contacts still active and not suppressed, and a disabled source is enabled and runs at once. A failed import is not retried (409): upload the file again.", Body: queueItemBody{}, Data: queueActionJSON{}, Example: `{"id": 42}`},
	"POST /api/v1/queues/:name/discard":  {Summary: "Discard failed items", Doc: "The one named by id, or all with all true: failed messages and deliveries are deleted, failed sends (of campaigns still sending) and imports marked cancelled.", Body: queueItemBody{}, Data: queueActionJSON{}, Example: `{"id": 42}`},
	"POST /api/v1/queues/:name/throttle": {Summary: "Throttle the transactional lane", Doc: "At most per_minute messages a minute (0 for no cap). Only the transactional lane is throttled.", Body: queueThrottleBody{}, Data: queueJSON{}, Example: `{"per_minute": 600}`},
	"GET /api/v1/sources":                {Summary: "List sources", Doc: "JSON APIs Herald pulls contacts from on a schedule, with their health; credentials masked.", Data: sourceJSON{}, List: true, Spec: &namedList},
	"POST /api/v1/sources":               {Summary: "Add a source", Doc: "An https URL, its authentication (bearer, basic, header or query), extra headers, where the records are, its paging, an optional since parameter, the mapping of fields to contacts (as a CSV import's) and a schedule. A new source runs at once, then on its schedule.", Body: sourceBody{}, Data: sourceJSON{}, Status: 201, Example: `{"name": "Shop customers", "url": "https://shop.example/api/customers", "auth": {"kind": "bearer", "secret": "shop-token"}, "paging": {"kind": "page", "size": 100}, "since_param": "updated_since", "mapping": {"mode": "upsert", "fields": [{"path": "email", "target": "email"}, {"path": "first_name", "target": "first_name"}, {"path": "address.city", "target": "attribute:city"}]}, "schedule": "daily", "at_minute": 360}`},
	"POST /api/v1/sources/test":          {Summary: "Test a source's connection", Doc: "Asks the API for its first page and saves nothing: the time it took, the first 10 records, and their fields with a sample and a proposed target. A connection that fails answers ok false with why.", Body: sourceBody{}, Data: sourceTestJSON{}, Example: `{"url": "https://shop.example/api/customers", "auth": {"kind": "header", "name": "X-Api-Key", "secret": "k-123"}}`},
	"GET /api/v1/sources/:id":            {Summary: "Get a source", Data: sourceJSON{}},
	"PATCH /api/v1/sources/:id":          {Summary: "Change a source", Doc: "What is left out stays; a secret or headers given replace the kept ones, and the change is in the audit trail. Moving the address to another host needs the credentials again. Enabling a disabled source clears its failures; a new schedule takes effect from its next time.", Body: sourceBody{}, Data: sourceJSON{}, Example: `{"schedule": "hourly", "at_minute": 15}`},
	"DELETE /api/v1/sources/:id":         {Summary: "Delete a source", Doc: "Its runs and audit trail go with it; the contacts it brought stay."},
	"POST /api/v1/sources/:id/run":       {Summary: "Run a source now", Doc: "It runs as soon as the source runner is free; its runs show how it goes. A disabled source is a conflict (409).", Status: 202},
	"POST /api/v1/sources/:id/test":      {Summary: "Test a change to a source", Doc: "As testing a new source's connection, for the source as the body would change it; its kept credentials stand where the body gives none, unless the address moves to another host. Nothing is saved.", Body: sourceBody{}, Data: sourceTestJSON{}, Example: `{"records_path": "payload.customers"}`},
	"GET /api/v1/sources/:id/runs":       {Summary: "A source's runs", Doc: "The last 100, newest first: pages, records fetched, created, updated, skipped and invalid, and why one failed. The invalid records, by position, are in the import it names.", Data: []sourceRunJSON{}},
	"POST /api/v1/sources/:id/reveal":    {Summary: "Reveal a source's credentials", Doc: "The secret and the extra headers' values, in the clear; each call is written in the source's audit trail (?for=copy writes it as a copy).", Data: sourceSecretJSON{}},
	"GET /api/v1/sources/:id/audit":      {Summary: "A source's audit trail", Doc: "Who created the source, and who revealed, copied or changed its credentials, newest first.", Data: []sourceAuditJSON{}},
	"GET /api/v1/users":                  {Summary: "List users", Doc: "The people who can sign in to the admin. Passwords are never shown.", Data: userJSON{}, List: true, Spec: &namedList},
	"POST /api/v1/users":                 {Summary: "Add a user", Doc: "Role owner or admin: both can do everything today, and Herald keeps at least one owner. The password has at least 10 characters.", Body: userBody{}, Data: userJSON{}, Status: 201, Example: `{"email": "sam@example.com", "name": "Sam", "role": "admin", "password": "a long enough password"}`},
	"GET /api/v1/users/:id":              {Summary: "Get a user", Data: userJSON{}},
	"PATCH /api/v1/users/:id":            {Summary: "Change a user", Doc: "A new password signs the user out everywhere. The only owner cannot stop being one (409).", Body: userPatch{}, Data: userJSON{}, Example: `{"role": "owner"}`},
	"DELETE /api/v1/users/:id":           {Summary: "Remove a user", Doc: "Signs them out at once. The only owner cannot be removed (409)."},
	"GET /api/v1/api-keys":               {Summary: "List API keys", Doc: "Newest first, revoked ones included. Secrets are never shown again.", Data: apiKeyJSON{}, List: true, Spec: &namedList},
	"POST /api/v1/api-keys":              {Summary: "Create an API key", Doc: "The answer carries the secret, once. Scopes: read, write, send, admin, or full for all four.", Body: apiKeyBody{}, Data: apiKeyJSON{}, Status: 201, Example: `{"name": "Shop", "scopes": ["send"], "limits": {"send": 20}}`},
	"GET /api/v1/api-keys/:id":           {Summary: "An API key", Data: apiKeyJSON{}},
	"PATCH /api/v1/api-keys/:id":         {Summary: "Change a key's rate limits", Doc: "A limit of 0 takes the install's.", Body: apiKeyPatch{}, Data: apiKeyJSON{}, Example: `{"limits": {"read": 200, "write": 0, "send": 0}}`},
	"DELETE /api/v1/api-keys/:id":        {Summary: "Revoke an API key", Doc: "Requests with it are refused from now on."},
	"GET /api/v1/relays":                 {Summary: "List relays", Doc: "No password or secret ever leaves.", Data: relayJSON{}, List: true, Spec: &namedList},
	"POST /api/v1/relays":                {Summary: "Add a relay", Doc: "An SMTP relay or Amazon SES.", Body: relayPatch{}, Data: relayJSON{}, Status: 201, Example: `{"name": "Postmark", "kind": "smtp", "host": "smtp.postmarkapp.com", "port": 587, "tls": "starttls", "username": "token", "password": "token"}`},
	"GET /api/v1/relays/:id":             {Summary: "A relay", Data: relayJSON{}},
	"PATCH /api/v1/relays/:id":           {Summary: "Change a relay", Doc: "Fields left out keep their value.", Body: relayPatch{}, Data: relayJSON{}, Example: `{"rate_per_second": 10}`},
	"DELETE /api/v1/relays/:id":          {Summary: "Delete a relay"},
	"POST /api/v1/relays/:id/test":       {Summary: "Send a test through a relay", Body: relayTestBody{}, Data: testResultJSON{}, Example: `{"to": "me@example.com"}`},
	"GET /api/v1/relays/:id/quota":       {Summary: "A relay's sending allowance", Doc: "Read without sending anything: for SES, the account's 24-hour quota, what it sent in the last 24 hours and its highest rate; for every relay, the daily limit set in Herald and what went through it today. level is warning from 80% used, critical from 95%.", Data: relayQuotaJSON{}},
	"GET /api/v1/dkim-keys":              {Summary: "List DKIM keys", Data: dkimKeyJSON{}, List: true, Spec: &dkimList},
	"POST /api/v1/dkim-keys":             {Summary: "Make a DKIM key", Doc: "Herald makes the key pair; publish the DNS record the answer gives.", Body: dkimKeyBody{}, Data: dkimKeyJSON{}, Status: 201, Example: `{"domain": "example.com"}`},
	"GET /api/v1/dkim-keys/:id":          {Summary: "A DKIM key", Data: dkimKeyJSON{}},
	"PATCH /api/v1/dkim-keys/:id":        {Summary: "Turn a DKIM key on or off", Body: dkimKeyPatch{}, Data: dkimKeyJSON{}, Example: `{"enabled": false}`},
	"DELETE /api/v1/dkim-keys/:id":       {Summary: "Delete a DKIM key"},
	"GET /api/v1/domains/:domain/check":  {Summary: "Check a domain's DNS", Doc: "SPF, DKIM, DMARC and MX, looked up now.", Data: domainReportJSON{}},

	// Outgoing webhooks.
	"GET /api/v1/webhooks":                                     {Summary: "List webhook endpoints", Data: webhookJSON{}, List: true, Spec: &namedList},
	"POST /api/v1/webhooks":                                    {Summary: "Add a webhook endpoint", Doc: "The answer carries the signing secret. Events are signed as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) and delivered at least once: dedupe on the event id.", Body: endpointBody{}, Data: webhookJSON{}, Status: 201, Example: `{"url": "https://shop.example.com/hooks/herald", "description": "Shop", "events": ["contact.created", "email.bounced"]}`},
	"GET /api/v1/webhooks/:id":                                 {Summary: "A webhook endpoint", Data: webhookJSON{}},
	"PATCH /api/v1/webhooks/:id":                               {Summary: "Change a webhook endpoint", Doc: "Enabling a disabled endpoint clears its failures.", Body: endpointBody{}, Data: webhookJSON{}, Example: `{"enabled": true}`},
	"DELETE /api/v1/webhooks/:id":                              {Summary: "Delete a webhook endpoint", Doc: "With its delivery log."},
	"GET /api/v1/webhooks/:id/secret":                          {Summary: "An endpoint's signing secret", Data: secretJSON{}},
	"POST /api/v1/webhooks/:id/roll-secret":                    {Summary: "Roll an endpoint's signing secret", Doc: "For 24 hours deliveries carry a signature with the old secret too.", Data: secretJSON{}},
	"POST /api/v1/webhooks/:id/test":                           {Summary: "Send a test event", Doc: "A webhook.test event, to this endpoint only, tried once.", Data: deliveryJSON{}, Status: 202},
	"GET /api/v1/webhooks/:id/deliveries":                      {Summary: "An endpoint's delivery log", Query: []apiParam{qs("status", "Only deliveries in this state.", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed), qs("type", "Only events of this type.", append(slices.Clone(store.EventTypes), store.EventTest)...)}, Data: deliveryJSON{}, List: true, Spec: &deliveryList},
	"GET /api/v1/webhooks/:id/deliveries/:delivery":            {Summary: "A delivery and its attempts", Doc: "Each attempt's request and answer, truncated, its status and how long it took.", Data: deliveryJSON{}},
	"POST /api/v1/webhooks/:id/deliveries/:delivery/redeliver": {Summary: "Send a delivery again", Data: deliveryJSON{}, Status: 202},

	// The audience.
	"GET /api/v1/contacts":             {Summary: "List contacts", Doc: "Millions of contacts are walked by cursor: after=0, then each page's next_after.", Query: contactFilters, Data: contactJSON{}, List: true, Spec: &contactList},
	"POST /api/v1/contacts":            {Summary: "Create a contact", Doc: "With upsert=true an existing contact with the email is updated instead, and the answer is 200.", Query: []apiParam{qb("upsert", "Update the contact with this email if there is one.")}, Body: contactBody{}, Data: contactJSON{}, Status: 201, Also: []int{200}, Example: `{"email": "ann@example.com", "first_name": "Ann", "attributes": {"city": "Leeds", "plan": "pro"}, "tags": ["customer"], "lists": [1]}`},
	"GET /api/v1/contacts/export":      {Summary: "Export contacts", Doc: "Every contact the filters match, streamed.", Query: append([]apiParam{qs("format", "csv (the default) or json.", "csv", "json"), qs("q", "Search in "+contactList.Search+".")}, contactFilters...), Raw: "text/csv, application/json"},
	"POST /api/v1/contacts/bulk":       {Summary: "Change many contacts at once", Doc: "Tag, untag, add to or remove from a list, unsubscribe, block or delete the contacts the filter matches, or the ids given.", Body: bulkBody{}, Data: bulkResultJSON{}, Example: `{"action": "tag", "tag": "vip", "ids": [1, 2, 3]}`},
	"GET /api/v1/contacts/:id":         {Summary: "A contact", Data: contactJSON{}},
	"PATCH /api/v1/contacts/:id":       {Summary: "Change a contact", Doc: "Fields left out keep their value.", Body: contactBody{}, Data: contactJSON{}, Example: `{"attributes": {"plan": "team"}, "tags": ["customer", "vip"]}`},
	"DELETE /api/v1/contacts/:id":      {Summary: "Delete a contact"},
	"GET /api/v1/contacts/:id/export":  {Summary: "Everything Herald holds on a contact", Doc: "For a data subject's access request: a JSON file.", Raw: "application/json"},
	"GET /api/v1/contacts/:id/events":  {Summary: "A contact's timeline", Data: []eventJSON{}},
	"GET /api/v1/contacts/:id/sends":   {Summary: "The campaign messages sent to a contact", Data: contactSendJSON{}, List: true, Spec: &sendList},
	"POST /api/v1/contacts/:id/erase":  {Summary: "Erase a contact", Doc: "Removes the person's data and keeps a suppressed, anonymous record, for a right-to-be-forgotten request.", Data: contactJSON{}},
	"GET /api/v1/events":               {Summary: "List custom events", Doc: "What contacts did elsewhere, as reported.", Query: []apiParam{qi("contact_id", "Only this contact's events."), qs("name", "Only events of this name.")}, Data: customEventJSON{}, List: true, Spec: &customEventList},
	"POST /api/v1/events":              {Summary: "Record custom events", Doc: "One event, or up to 1,000 in events. All are recorded or, when one is wrong, none, with the error naming it as events[i].field. An idempotency_key recorded before gives the first event back, marked duplicate. Events show on the contact's timeline, can be segmented on, and are announced as event.received.", Body: eventsBody{}, Data: eventsRecordedJSON{}, Status: 201, Also: []int{200}, Example: `{"events": [{"email": "ann@example.com", "name": "order_placed", "properties": {"total": 42.5, "plan": "pro"}, "idempotency_key": "order-1001"}, {"email": "new@example.com", "create_contact": true, "name": "signup"}]}`},
	"GET /api/v1/tags":                 {Summary: "List tags", Doc: "Every tag in use.", Data: []string{}},
	"GET /api/v1/lists":                {Summary: "List lists", Data: listJSON{}, List: true, Spec: &namedList},
	"POST /api/v1/lists":               {Summary: "Create a list", Body: listBody{}, Data: listJSON{}, Status: 201, Example: `{"name": "Newsletter", "opt_in": "double"}`},
	"GET /api/v1/lists/:id":            {Summary: "A list", Data: listJSON{}},
	"PATCH /api/v1/lists/:id":          {Summary: "Change a list", Body: listBody{}, Data: listJSON{}, Example: `{"description": "Our weekly news"}`},
	"DELETE /api/v1/lists/:id":         {Summary: "Delete a list", Doc: "Its members stay contacts."},
	"GET /api/v1/segments":             {Summary: "List segments", Data: segmentJSON{}, List: true, Spec: &namedList},
	"POST /api/v1/segments":            {Summary: "Create a segment", Body: segmentBody{}, Data: segmentJSON{}, Status: 201, Example: `{"name": "VIPs in Leeds", "rules": {"match": "all", "conditions": [{"field": "tag", "op": "eq", "value": "vip"}, {"field": "attributes.city", "op": "eq", "value": "Leeds"}]}}`},
	"POST /api/v1/segments/count":      {Summary: "Count what rules match", Doc: "Unsaved rules, counted now.", Body: rulesBody{}, Data: countJSON{}, Example: `{"rules": {"match": "all", "conditions": [{"field": "tag", "op": "eq", "value": "vip"}]}}`},
	"GET /api/v1/segments/:id":         {Summary: "A segment", Data: segmentJSON{}},
	"PATCH /api/v1/segments/:id":       {Summary: "Change a segment", Body: segmentBody{}, Data: segmentJSON{}, Example: `{"name": "VIPs"}`},
	"DELETE /api/v1/segments/:id":      {Summary: "Delete a segment"},
	"GET /api/v1/segments/:id/count":   {Summary: "Count a segment", Data: countJSON{}},
	"GET /api/v1/imports":              {Summary: "List imports", Data: importJSON{}, List: true, Spec: &importList},
	"POST /api/v1/imports":             {Summary: "Import contacts from a CSV file", Doc: "The import runs in the background; follow it at its Location.", Form: importForm, Data: importJSON{}, Status: 202},
	"GET /api/v1/imports/:id":          {Summary: "An import and its progress", Data: importJSON{}},
	"GET /api/v1/suppressions":         {Summary: "List suppressions", Doc: "Addresses and domains never sent to.", Data: suppressionJSON{}, List: true, Spec: &suppressList},
	"POST /api/v1/suppressions":        {Summary: "Suppress an address or a domain", Doc: "200 when it was already suppressed.", Body: suppressionBody{}, Data: suppressionJSON{}, Status: 201, Also: []int{200}, Example: `{"kind": "email", "value": "bob@example.com", "reason": "Asked by phone"}`},
	"POST /api/v1/suppressions/import": {Summary: "Suppress the addresses of a CSV file", Form: []apiParam{{Name: "file", Type: "file", Doc: "A CSV file with an email column."}, qs("reason", "Why, kept with each.")}, Data: suppressionImportJSON{}},
	"DELETE /api/v1/suppressions/:id":  {Summary: "Lift a suppression"},

	// Content.
	"GET /api/v1/templates":                                {Summary: "List templates", Query: []apiParam{qs("kind", "Only templates of this kind.", store.KindCampaign, store.KindTransactional, store.KindLayout)}, Data: templateJSON{}, List: true, Spec: &templateList},
	"POST /api/v1/templates":                               {Summary: "Create a template", Doc: "Checked when saved: a template that does not render is refused with the reason.", Body: templateBody{}, Data: templateJSON{}, Status: 201, Example: `{"name": "Receipt", "kind": "transactional", "subject": "Your order {{.Data.order}}", "markdown": "Hello {{.Contact.FirstName}}, thank you for order {{.Data.order}}."}`},
	"GET /api/v1/templates/:id":                            {Summary: "A template", Data: templateJSON{}},
	"PATCH /api/v1/templates/:id":                          {Summary: "Change a template", Doc: "Each change keeps the version before it.", Body: templateBody{}, Data: templateJSON{}, Example: `{"subject": "Your receipt for order {{.Data.order}}"}`},
	"DELETE /api/v1/templates/:id":                         {Summary: "Delete a template"},
	"GET /api/v1/templates/:id/versions":                   {Summary: "A template's versions", Data: templateJSON{}, List: true},
	"GET /api/v1/templates/:id/versions/:version":          {Summary: "One version of a template", Data: templateJSON{}},
	"POST /api/v1/templates/:id/versions/:version/restore": {Summary: "Restore a version", Data: templateJSON{}},
	"POST /api/v1/templates/:id/preview":                   {Summary: "Render a template", Doc: "For a contact, or for the data given.", Body: previewBody{}, Data: previewJSON{}, Example: `{"data": {"order": "A-1001"}}`},
	"GET /api/v1/media":                                    {Summary: "List images", Data: mediaJSON{}, List: true, Spec: &mediaList},
	"POST /api/v1/media":                                   {Summary: "Upload an image", Form: []apiParam{{Name: "file", Type: "file", Doc: "A PNG, JPEG, GIF or WebP image."}}, Data: mediaJSON{}, Status: 201},
	"DELETE /api/v1/media/:id":                             {Summary: "Delete an image"},

	// Campaigns and their results.
	"GET /api/v1/campaigns":                    {Summary: "List campaigns", Query: []apiParam{qs("status", "Only campaigns with this status.", store.CampaignDraft, store.CampaignScheduled, store.CampaignSending, store.CampaignPaused, store.CampaignSent, store.CampaignCancelled)}, Data: campaignJSON{}, List: true, Spec: &campaignList},
	"POST /api/v1/campaigns":                   {Summary: "Create a campaign", Body: campaignBody{}, Data: campaignJSON{}, Status: 201, Example: `{"name": "June news", "subject": "What is new in June", "markdown": "Hello {{.Contact.FirstName}}!", "list_ids": [1]}`},
	"GET /api/v1/campaigns/:id":                {Summary: "A campaign", Data: campaignJSON{}},
	"PATCH /api/v1/campaigns/:id":              {Summary: "Change a campaign", Doc: "Only a draft or a scheduled campaign can change.", Body: campaignBody{}, Data: campaignJSON{}, Example: `{"subject": "What is new in June"}`},
	"DELETE /api/v1/campaigns/:id":             {Summary: "Delete a campaign", Doc: "Not while it sends."},
	"POST /api/v1/campaigns/:id/send":          {Summary: "Send a campaign now", Data: campaignJSON{}, Status: 202},
	"POST /api/v1/campaigns/:id/schedule":      {Summary: "Schedule a campaign", Body: scheduleBody{}, Data: campaignJSON{}, Example: `{"send_at": "2026-06-01T09:00:00Z"}`},
	"POST /api/v1/campaigns/:id/test":          {Summary: "Send a test of a campaign", Body: campaignTestBody{}, Data: testResultsJSON{}, Example: `{"emails": ["me@example.com"]}`},
	"POST /api/v1/campaigns/:id/duplicate":     {Summary: "Copy a campaign as a new draft", Data: campaignJSON{}, Status: 201},
	"POST /api/v1/campaigns/:id/pause":         {Summary: "Pause a sending campaign", Doc: "Messages in flight finish; the rest wait.", Data: campaignJSON{}},
	"POST /api/v1/campaigns/:id/resume":        {Summary: "Resume a paused campaign", Data: campaignJSON{}},
	"POST /api/v1/campaigns/:id/cancel":        {Summary: "Cancel a campaign", Doc: "The messages not yet sent are cancelled.", Data: campaignJSON{}},
	"POST /api/v1/campaigns/:id/unschedule":    {Summary: "Unschedule a campaign", Doc: "Back to a draft.", Data: campaignJSON{}},
	"POST /api/v1/campaigns/:id/resend-failed": {Summary: "Send again to the recipients that failed", Data: queuedJSON{}},
	"GET /api/v1/campaigns/:id/stats":          {Summary: "A campaign's counts", Data: campaignStats{}},
	"GET /api/v1/campaigns/:id/recipients":     {Summary: "A campaign's recipients and each one's fate", Query: []apiParam{qs("status", "Only recipients with this status.", "queued", "sending", "sent", "retrying", "failed", "cancelled")}, Data: sendJSON{}, List: true, Spec: &recipientList},
	"GET /api/v1/campaigns/:id/report":         {Summary: "A campaign's report", Doc: "Opens, clicks, bounces, complaints and unsubscribes, by hour, link and domain.", Query: []apiParam{allBreakdown}, Data: campaignReportJSON{}},
	"GET /api/v1/campaigns/:id/links":          {Summary: "A campaign's links and their clicks", Data: store.Link{}, List: true},
	"GET /api/v1/campaigns/:id/domains":        {Summary: "A campaign's results by recipient domain", Query: []apiParam{allBreakdown}, Data: store.Breakdown{}, List: true},
	"GET /api/v1/campaigns/:id/events":         {Summary: "A campaign's events", Doc: "Newest first.", Query: []apiParam{qs("type", "Only events of this type, such as open, click or hard_bounce.")}, Data: store.ResultEvent{}, List: true, Spec: &eventList},
	"GET /api/v1/reports/costs":                {Summary: "What sending cost", Doc: "An estimate: messages sent times the price for 1,000 set on the relay (price_per_1000), by campaign, by category of transactional mail and by month.", Query: []apiParam{qs("from", "A date like 2026-01-01 or an RFC 3339 time; the start of the month eleven months ago by default."), qs("to", "A date, included, or an RFC 3339 time; today by default.")}, Data: costsJSON{}},
	"GET /api/v1/reports/overview":             {Summary: "Results across campaigns", Doc: "Sums over a range, interval by interval, in the organisation's timezone.", Query: []apiParam{qs("from", "A date like 2026-05-01 or an RFC 3339 time; 30 days ago by default."), qs("to", "A date, included, or an RFC 3339 time; today by default."), qs("interval", "The step.", "hour", "day", "week", "month")}, Data: overviewJSON{}},

	// Transactional email.
	"GET /api/v1/messages":       {Summary: "The message log", Query: messageFilters, Data: messageJSON{}, List: true, Spec: &messageList},
	"GET /api/v1/messages/stats": {Summary: "Counts of the message log", Doc: "The messages the filters match, in the window of created_from and created_to, by status, by category (each with its statuses) and by day in the organisation's timezone.", Query: messageFilters, Data: messageStatsJSON{}},
	"POST /api/v1/messages":      {Summary: "Send a transactional message", Doc: "Queued in the transactional lane, which never waits behind a campaign. A repeated idempotency_key answers 200 with the first message.", Body: outbound.MessageRequest{}, Data: messageAcceptedJSON{}, Status: 202, Also: []int{200}, Example: `{"to": "ann@example.com", "bcc": ["records@example.com"], "template_id": 3, "data": {"order": "A-1001"}, "idempotency_key": "order-A-1001", "category": "billing", "priority": "high", "tags": ["receipt"], "metadata": {"order_id": "A-1001"}}`},
	"GET /api/v1/messages/:id":   {Summary: "A message and its events", Data: messageJSON{}},
}

// importForm is what an import upload takes.
var importForm = []apiParam{
	{Name: "file", Type: "file", Doc: "A CSV file with a header row."},
	qs("mode", "create adds new contacts only, upsert updates those that exist, unsubscribe and block act on those listed.", store.ImportModes...),
	qs("list_ids", "List ids to add everyone to, separated by commas."),
	qs("tags", "Tags to add to everyone, separated by commas."),
	qs("mapping", `A JSON object from column to field, like {"E-mail": "email"}; guessed from the header when absent.`),
}
