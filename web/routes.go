// Where things are in this package: one file a resource.
//
//   - X.go holds the pages of resource X (contacts.go, campaigns.go, …),
//     and X_part.go a part of them that outgrew it (campaigns_progress.go,
//     segments_editor.go, templates_versions.go).
//   - api_X.go holds the API of resource X.
//   - Public pages: subscribe.go, preferences.go, archive.go, webview.go
//     and public.go, what they share.
//   - How a request comes in: server.go, routes.go (every route, in this
//     file), middleware.go, csrf.go, bodies.go (size limits, forms).
//   - How an answer goes out: render.go (pages, flashes), api.go (the API's
//     envelope, paging and JSON bodies), errors.go (every error).
//   - helpers.go holds the small helpers several resources share.
//
// Handlers read input, call the store or the outbound service, and write
// output; sending itself lives in scheduler/outbound.
package web

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// PublicRoutes are the only routes an anonymous visitor may use; every other
// route must refuse anonymous requests.
var PublicRoutes = map[string]bool{
	"GET /healthz":             true,
	"GET /api/v1/openapi.json": true,
	"GET /static/*":            true,
	"GET /setup":               true,
	"POST /setup":              true,
	"GET /login":               true,
	"POST /login":              true,
	"GET /favicon.ico":         true,

	"GET /subscribe/:id":             true,
	"POST /subscribe/:id":            true,
	"GET /subscribe/confirm/:token":  true,
	"POST /subscribe/confirm/:token": true,
	"GET /p/:token":                  true,
	"POST /p/:token":                 true,
	"GET /u/:token":                  true,
	"GET /media/:id/:name":           true,
	"GET /view/:token":               true,
	"GET /archive/:id":               true,
	"GET /archive/:id/feed.atom":     true,
	"GET /archive/:id/:entry":        true,
	"POST /u/:token":                 true,
	"GET /o/:token":                  true,
	"GET /c/:token":                  true,
	"POST /hooks/ses/:token":         true,
	"POST /hooks/postmark/:token":    true,
	"POST /hooks/sendgrid/:token":    true,
	"POST /hooks/mailgun/:token":     true,
}

// builtSections are the sections with pages of their own; the others show
// that they are not built yet.
var builtSections = map[string]bool{"dashboard": true, "settings": true, "contacts": true, "lists": true, "segments": true, "templates": true, "campaigns": true, "reports": true, "automations": true}

// largeBodies are the routes that take more than a form or an API request
// (see bodyClassOf): files, streamed to disk, and messages with attachments.
var largeBodies = map[string]bodyClass{
	"POST /contacts/import":              csvUpload,
	"POST /contacts/suppressions/import": csvUpload,
	"POST /templates/media":              imageUpload,
	"POST /api/v1/imports":               csvUpload,
	"POST /api/v1/suppressions/import":   csvUpload,
	"POST /api/v1/media":                 imageUpload,
	"POST /api/v1/messages":              messageBody,
	"POST /api/v1/events":                eventsUpload,
	"POST /hooks/ses/:token":             webhookBody,
	"POST /hooks/postmark/:token":        webhookBody,
	"POST /hooks/sendgrid/:token":        webhookBody,
	"POST /hooks/mailgun/:token":         webhookBody,
}

// routes registers every route Herald serves.
func (s *Server) routes(e *echo.Echo) {
	e.Pre(requestIDs, s.securityHeaders, headAsGet)
	e.Use(s.recoverPanics, s.logRequests, limitBodies, readForms, s.csrf(), s.loadSession)

	e.GET("/healthz", s.health)
	e.GET("/static/*", s.static)
	e.GET("/favicon.ico", s.favicon)
	e.GET("/setup", s.setupForm)
	e.POST("/setup", s.setupSubmit)
	e.GET("/login", s.loginForm)
	e.POST("/login", s.loginSubmit)
	e.GET("/subscribe/:id", s.subscribeForm)
	e.POST("/subscribe/:id", s.subscribeSubmit, subscribeLimit())
	e.GET("/subscribe/confirm/:token", s.confirmShow)
	e.POST("/subscribe/confirm/:token", s.confirmSubmit)
	e.GET("/p/:token", s.preferencesShow)
	e.POST("/p/:token", s.preferencesSave)
	e.GET("/media/:id/:name", s.mediaServe)
	e.GET("/view/:token", s.webView)
	e.GET("/archive/:id", s.archivePage)
	e.GET("/archive/:id/feed.atom", s.archiveFeed)
	e.GET("/archive/:id/:entry", s.archiveEntry)
	e.GET("/u/:token", s.unsubscribeShow)
	e.POST("/u/:token", s.unsubscribeSubmit)
	// Good tracking tokens are answered before the routes, by serveHit.
	e.GET("/o/:token", s.unknownOpen)
	e.GET("/c/:token", s.linkInvalid)
	e.POST("/hooks/ses/:token", hook(s.hookSES))
	e.POST("/hooks/postmark/:token", hook(s.hookPostmark))
	e.POST("/hooks/sendgrid/:token", hook(s.hookSendGrid))
	e.POST("/hooks/mailgun/:token", hook(s.hookMailgun))

	pages := e.Group("", s.requireUser)
	pages.POST("/logout", s.logout)
	pages.GET("/", s.dashboard)
	for _, sec := range templates.Sections() {
		if !builtSections[sec.Key] {
			pages.GET(sec.Path, s.notBuilt(sec))
		}
	}
	pages.GET("/contacts", s.contactList)
	pages.GET("/contacts/new", s.contactNew)
	pages.POST("/contacts", s.contactCreate)
	pages.GET("/contacts/export", s.contactExportUI)
	pages.POST("/contacts/bulk", s.contactBulk)
	pages.GET("/contacts/import", s.importList)
	pages.POST("/contacts/import", s.importUpload)
	pages.GET("/contacts/import/:id", s.importShow)
	pages.POST("/contacts/import/:id", s.importStart)
	pages.POST("/contacts/import/:id/cancel", s.importCancel)
	pages.GET("/contacts/import/:id/progress", s.importProgress)
	pages.GET("/contacts/sources", s.sourceList)
	pages.GET("/contacts/sources/new", s.sourceNew)
	pages.POST("/contacts/sources", s.sourceCreate)
	pages.POST("/contacts/sources/test", s.sourceTestForm)
	pages.GET("/contacts/sources/:id", s.sourceShow)
	pages.POST("/contacts/sources/:id", s.sourceUpdate)
	pages.GET("/contacts/sources/:id/edit", s.sourceEdit)
	pages.POST("/contacts/sources/:id/test", s.sourceTestForm)
	pages.GET("/contacts/sources/:id/status", s.sourceStatus)
	pages.POST("/contacts/sources/:id/run", s.sourceRunNow)
	pages.POST("/contacts/sources/:id/enabled", s.sourceEnabled)
	pages.POST("/contacts/sources/:id/delete", s.sourceDelete)
	pages.POST("/contacts/sources/:id/reveal", s.sourceReveal)
	pages.GET("/contacts/sources/:id/secret", s.sourceSecretMasked)
	pages.GET("/contacts/suppressions", s.suppressionList)
	pages.POST("/contacts/suppressions", s.suppressionAdd)
	pages.POST("/contacts/suppressions/import", s.suppressionImport)
	pages.POST("/contacts/suppressions/:id/delete", s.suppressionDelete)
	pages.GET("/contacts/:id", s.contactShow)
	pages.POST("/contacts/:id", s.contactUpdate)
	pages.POST("/contacts/:id/lists", s.contactSetList)
	pages.POST("/contacts/:id/delete", s.contactDelete)
	pages.POST("/contacts/:id/erase", s.contactErase)
	pages.GET("/contacts/:id/export", s.contactExportOne)
	pages.GET("/segments", s.segmentList)
	pages.GET("/segments/new", s.segmentNew)
	pages.POST("/segments", s.segmentSave)
	pages.POST("/segments/editor", s.segmentEditorEdit)
	pages.POST("/segments/count", s.segmentCountLive)
	pages.GET("/segments/:id", s.segmentEdit)
	pages.POST("/segments/:id", s.segmentSave)
	pages.GET("/segments/:id/count", s.segmentCountSaved)
	pages.POST("/segments/:id/delete", s.segmentDelete)
	pages.GET("/templates", s.templateList)
	pages.POST("/templates", s.templateCreate)
	pages.POST("/templates/preview", s.templatePreview)
	pages.GET("/templates/preview/:key", s.previewShow)
	pages.GET("/templates/media", s.mediaList)
	pages.POST("/templates/media", s.mediaUpload)
	pages.POST("/templates/media/:id/delete", s.mediaDelete)
	pages.GET("/templates/:id", s.templateEdit)
	pages.POST("/templates/:id", s.templateUpdate)
	pages.POST("/templates/:id/delete", s.templateDelete)
	pages.POST("/templates/:id/test", s.templateTest)
	pages.GET("/templates/:id/versions", s.templateVersions)
	pages.GET("/templates/:id/versions/:version", s.templateVersionShow)
	pages.POST("/templates/:id/versions/:version/restore", s.templateRestore)
	pages.GET("/automations", s.automationList)
	pages.GET("/automations/new", s.automationNew)
	pages.POST("/automations", s.automationCreate)
	pages.GET("/automations/:id", s.automationShow)
	pages.GET("/automations/:id/settings", s.automationSettings)
	pages.POST("/automations/:id/settings", s.automationSettingsSave)
	pages.POST("/automations/:id/steps", s.automationStepCreate)
	pages.POST("/automations/:id/steps/:step", s.automationStepSave)
	pages.POST("/automations/:id/steps/:step/delete", s.automationStepDelete)
	pages.POST("/automations/:id/activate", s.automationChange(store.AutomationActive))
	pages.POST("/automations/:id/pause", s.automationChange(store.AutomationPaused))
	pages.POST("/automations/:id/archive", s.automationChange(store.AutomationArchived))
	pages.POST("/automations/:id/delete", s.automationDelete)
	pages.POST("/automations/:id/test", s.automationTest)
	pages.GET("/automations/:id/contacts", s.automationContacts)
	pages.GET("/automations/:id/journeys/:journey", s.automationJourney)
	pages.GET("/campaigns", s.campaignList)
	pages.POST("/campaigns", s.campaignCreate)
	pages.GET("/campaigns/:id", s.campaignShow)
	pages.POST("/campaigns/:id", s.campaignSave(""))
	pages.POST("/campaigns/:id/send", s.campaignSave("send"))
	pages.POST("/campaigns/:id/schedule", s.campaignSave("schedule"))
	pages.POST("/campaigns/:id/series", s.campaignSave("series"))
	pages.POST("/campaigns/:id/series/stop", s.campaignSeriesStop)
	pages.POST("/campaigns/:id/ab/winner", s.campaignABWinner)
	for _, action := range campaignActions {
		pages.POST("/campaigns/:id/"+action, s.campaignChange(action))
	}
	pages.POST("/campaigns/:id/duplicate", s.campaignDuplicate)
	pages.POST("/campaigns/:id/delete", s.campaignDelete)
	pages.POST("/campaigns/:id/resend-failed", s.campaignResendFailed)
	pages.POST("/campaigns/:id/test", s.campaignTestSend)
	pages.GET("/campaigns/:id/progress", s.campaignProgressShow)
	pages.GET("/campaigns/:id/recipients", s.campaignRecipients)
	pages.GET("/campaigns/:id/report", s.campaignReport)
	pages.GET("/campaigns/:id/report/live", s.campaignReportLive)
	pages.GET("/campaigns/:id/report/breakdowns", s.campaignReportBreakdowns)
	pages.GET("/campaigns/:id/report/recipients.csv", s.campaignReportCSV)
	pages.POST("/campaigns/:id/report/not-opened", s.campaignNotOpened)
	pages.GET("/reports", s.reportsShow)
	pages.GET("/reports/compare", s.reportsCompare)
	pages.GET("/reports/costs", s.reportsCosts)
	pages.GET("/reports/export.csv", s.reportsExport("csv"))
	pages.GET("/reports/export.json", s.reportsExport("json"))
	pages.GET("/lists", s.listList)
	pages.GET("/lists/new", s.listNew)
	pages.POST("/lists", s.listCreate)
	pages.GET("/lists/:id", s.listEdit)
	pages.POST("/lists/:id", s.listUpdate)
	pages.POST("/lists/:id/delete", s.listDelete)
	pages.GET("/settings", s.generalForm)
	pages.POST("/settings", s.generalSave)
	pages.GET("/settings/relays", s.relayList)
	pages.GET("/settings/relays/new", s.relayNew)
	pages.POST("/settings/relays", s.relayCreate)
	pages.GET("/settings/relays/:id", s.relayEdit)
	pages.POST("/settings/relays/:id", s.relayUpdate)
	pages.POST("/settings/relays/:id/delete", s.relayDelete)
	pages.POST("/settings/relays/:id/test", s.relayTest)
	pages.GET("/settings/relays/:id/quota", s.relayQuotaCard)
	pages.GET("/settings/domains", s.domainList)
	pages.POST("/settings/domains", s.domainKeyCreate)
	pages.GET("/settings/domains/:domain/check", s.domainCheck)
	pages.POST("/settings/domains/keys/:id/enable", s.dkimKeyEnable(true))
	pages.POST("/settings/domains/keys/:id/disable", s.dkimKeyEnable(false))
	pages.POST("/settings/domains/keys/:id/delete", s.dkimKeyDelete)
	pages.GET("/settings/emails", s.emailsForm)
	pages.POST("/settings/emails", s.emailsSave)
	pages.GET("/settings/bounces", s.bouncesForm)
	pages.POST("/settings/bounces", s.bouncesSave)
	pages.GET("/settings/users", s.userList)
	pages.POST("/settings/users", s.userCreate)
	pages.POST("/settings/users/:id", s.userRole)
	pages.POST("/settings/users/:id/password", s.userPassword)
	pages.POST("/settings/users/:id/delete", s.userDelete)
	pages.GET("/settings/api-keys", s.apiKeyList)
	pages.POST("/settings/api-keys", s.apiKeyCreate)
	pages.POST("/settings/api-keys/limits", s.installLimitsSave)
	pages.POST("/settings/api-keys/:id/revoke", s.apiKeyRevoke)
	pages.POST("/settings/api-keys/:id/limits", s.apiKeySetLimits)
	pages.GET("/settings/jobs", s.jobList)
	pages.GET("/settings/jobs/:name", s.queueShow)
	pages.POST("/settings/jobs/:name/pause", s.queuePause)
	pages.POST("/settings/jobs/:name/retry", s.queueFailedForm(true))
	pages.POST("/settings/jobs/:name/discard", s.queueFailedForm(false))
	pages.POST("/settings/jobs/:name/throttle", s.queueThrottle)
	pages.GET("/settings/webhooks", s.webhookList)
	pages.POST("/settings/webhooks", s.webhookCreate)
	pages.POST("/settings/webhooks/allowed-hosts", s.webhookAllowedHosts)
	pages.GET("/settings/webhooks/:id", s.webhookShow)
	pages.POST("/settings/webhooks/:id", s.webhookUpdate)
	pages.POST("/settings/webhooks/:id/delete", s.webhookDelete)
	pages.POST("/settings/webhooks/:id/roll", s.webhookRoll)
	pages.POST("/settings/webhooks/:id/test", s.webhookTest)
	pages.GET("/settings/webhooks/:id/deliveries/:delivery", s.deliveryShow)
	pages.POST("/settings/webhooks/:id/deliveries/:delivery/redeliver", s.deliveryRedeliver)
	pages.GET("/settings/api", s.apiReference)

	e.GET("/api/v1/openapi.json", s.apiOpenAPI)
	api := apiGroup{s, e.Group("/api", s.requireAPIKey)}
	const read, write, send, admin = store.ScopeRead, store.ScopeWrite, store.ScopeSend, store.ScopeAdmin
	api.GET(anyScope, "/v1/me", s.apiMe)
	api.GET(admin, "/v1/settings", s.apiSettingsGet)
	api.PATCH(admin, "/v1/settings", s.apiSettingsUpdate)
	api.GET(admin, "/v1/settings/feedback", s.apiFeedbackSettingsGet)
	api.PUT(admin, "/v1/settings/feedback", s.apiFeedbackSettingsUpdate)
	api.GET(admin, "/v1/relays", s.apiRelayList)
	api.POST(admin, "/v1/relays", s.apiRelayCreate)
	api.GET(admin, "/v1/relays/:id", s.apiRelayGet)
	api.PATCH(admin, "/v1/relays/:id", s.apiRelayUpdate)
	api.DELETE(admin, "/v1/relays/:id", apiDelete(s.store.DeleteRelay))
	api.POST(admin, "/v1/relays/:id/test", s.apiRelayTest)
	api.GET(admin, "/v1/relays/:id/quota", s.apiRelayQuota)
	api.GET(admin, "/v1/dkim-keys", s.apiDKIMKeyList)
	api.POST(admin, "/v1/dkim-keys", s.apiDKIMKeyCreate)
	api.GET(admin, "/v1/dkim-keys/:id", s.apiDKIMKeyGet)
	api.PATCH(admin, "/v1/dkim-keys/:id", s.apiDKIMKeyUpdate)
	api.DELETE(admin, "/v1/dkim-keys/:id", apiDelete(s.out.DeleteDKIMKey))
	api.GET(admin, "/v1/domains/:domain/check", s.apiDomainCheck)
	api.GET(admin, "/v1/settings/emails", s.apiConfirmEmailGet)
	api.PUT(admin, "/v1/settings/emails", s.apiConfirmEmailUpdate)
	api.GET(admin, "/v1/jobs", s.apiJobList)
	api.GET(admin, "/v1/queues", s.apiQueueList)
	api.GET(admin, "/v1/queues/:name", s.apiQueueGet)
	api.GET(admin, "/v1/queues/:name/items", s.apiQueueItems)
	api.POST(admin, "/v1/queues/:name/pause", s.apiQueuePause(true))
	api.POST(admin, "/v1/queues/:name/resume", s.apiQueuePause(false))
	api.POST(admin, "/v1/queues/:name/retry", s.apiQueueFailed(true))
	api.POST(admin, "/v1/queues/:name/discard", s.apiQueueFailed(false))
	api.POST(admin, "/v1/queues/:name/throttle", s.apiQueueThrottle)
	api.GET(admin, "/v1/webhooks", s.apiWebhookList)
	api.POST(admin, "/v1/webhooks", s.apiWebhookCreate)
	api.GET(admin, "/v1/webhooks/:id", s.apiWebhookGet)
	api.PATCH(admin, "/v1/webhooks/:id", s.apiWebhookUpdate)
	api.DELETE(admin, "/v1/webhooks/:id", apiDelete(s.store.DeleteWebhook))
	api.GET(admin, "/v1/webhooks/:id/secret", s.apiWebhookSecret)
	api.POST(admin, "/v1/webhooks/:id/roll-secret", s.apiWebhookRoll)
	api.POST(admin, "/v1/webhooks/:id/test", s.apiWebhookTest)
	api.GET(admin, "/v1/webhooks/:id/deliveries", s.apiDeliveryList)
	api.GET(admin, "/v1/webhooks/:id/deliveries/:delivery", s.apiDeliveryGet)
	api.POST(admin, "/v1/webhooks/:id/deliveries/:delivery/redeliver", s.apiDeliveryRedeliver)
	api.GET(read, "/v1/campaigns/:id/ab", s.apiCampaignAB)
	api.POST(write, "/v1/campaigns/:id/ab/winner", s.apiCampaignABWinner)
	api.POST(write, "/v1/campaigns/:id/recurrence/start", s.apiCampaignSeries(true))
	api.POST(write, "/v1/campaigns/:id/recurrence/stop", s.apiCampaignSeries(false))
	api.GET(read, "/v1/automations", s.apiAutomationList)
	api.POST(write, "/v1/automations", s.apiAutomationCreate)
	api.GET(read, "/v1/automations/:id", s.apiAutomationGet)
	api.PATCH(write, "/v1/automations/:id", s.apiAutomationUpdate)
	api.DELETE(write, "/v1/automations/:id", apiDelete(s.store.DeleteAutomation))
	api.POST(write, "/v1/automations/:id/activate", s.apiAutomationStatus(store.AutomationActive))
	api.POST(write, "/v1/automations/:id/pause", s.apiAutomationStatus(store.AutomationPaused))
	api.POST(write, "/v1/automations/:id/archive", s.apiAutomationStatus(store.AutomationArchived))
	api.GET(read, "/v1/automations/:id/check", s.apiAutomationCheck)
	api.GET(read, "/v1/automations/:id/contacts", s.apiAutomationJourneys(false))
	api.GET(read, "/v1/automations/:id/runs", s.apiAutomationJourneys(true))
	api.POST(write, "/v1/automations/:id/enroll", s.apiAutomationEnroll)
	api.POST(write, "/v1/automations/:id/test", s.apiAutomationTest)
	api.GET(read, "/v1/sources", s.apiSourceList)
	api.POST(write, "/v1/sources", s.apiSourceCreate)
	api.POST(write, "/v1/sources/test", s.apiSourceTest)
	api.GET(read, "/v1/sources/:id", s.apiSourceGet)
	api.PATCH(write, "/v1/sources/:id", s.apiSourceUpdate)
	api.DELETE(write, "/v1/sources/:id", apiDelete(s.store.DeleteSource))
	api.POST(write, "/v1/sources/:id/run", s.apiSourceRun)
	api.POST(write, "/v1/sources/:id/test", s.apiSourceTest)
	api.GET(read, "/v1/sources/:id/runs", s.apiSourceRuns)
	api.POST(admin, "/v1/sources/:id/reveal", s.apiSourceReveal)
	api.GET(admin, "/v1/sources/:id/audit", s.apiSourceAudit)
	api.GET(admin, "/v1/users", s.apiUserList)
	api.POST(admin, "/v1/users", s.apiUserCreate)
	api.GET(admin, "/v1/users/:id", s.apiUserGet)
	api.PATCH(admin, "/v1/users/:id", s.apiUserUpdate)
	api.DELETE(admin, "/v1/users/:id", apiDelete(s.store.DeleteUser))
	api.GET(admin, "/v1/api-keys", s.apiAPIKeyList)
	api.POST(admin, "/v1/api-keys", s.apiAPIKeyCreate)
	api.GET(admin, "/v1/api-keys/:id", s.apiAPIKeyGet)
	api.PATCH(admin, "/v1/api-keys/:id", s.apiAPIKeyUpdate)
	api.DELETE(admin, "/v1/api-keys/:id", apiDelete(s.store.RevokeAPIKey))

	api.GET(read, "/v1/contacts", s.apiContactList)
	api.POST(write, "/v1/contacts", s.apiContactCreate)
	api.GET(read, "/v1/contacts/export", s.apiContactExportAll)
	api.POST(write, "/v1/contacts/bulk", s.apiContactBulk)
	api.GET(read, "/v1/contacts/:id", s.apiContactGet)
	api.PATCH(write, "/v1/contacts/:id", s.apiContactUpdate)
	api.DELETE(write, "/v1/contacts/:id", apiDelete(s.store.DeleteContact))
	api.GET(read, "/v1/contacts/:id/export", s.apiContactExport)
	api.GET(read, "/v1/contacts/:id/events", s.apiContactEvents)
	api.POST(write, "/v1/contacts/:id/erase", s.apiContactErase)
	api.GET(read, "/v1/tags", s.apiTagList)
	api.GET(read, "/v1/events", s.apiEventList)
	api.POST(write, "/v1/events", s.apiEventsCreate)
	api.GET(read, "/v1/lists", s.apiListList)
	api.POST(write, "/v1/lists", s.apiListCreate)
	api.GET(read, "/v1/lists/:id", s.apiListGet)
	api.PATCH(write, "/v1/lists/:id", s.apiListUpdate)
	api.DELETE(write, "/v1/lists/:id", apiDelete(s.store.DeleteList))
	api.GET(read, "/v1/segments", s.apiSegmentList)
	api.POST(write, "/v1/segments", s.apiSegmentCreate)
	api.POST(write, "/v1/segments/count", s.apiSegmentPreview)
	api.GET(read, "/v1/segments/:id", s.apiSegmentGet)
	api.PATCH(write, "/v1/segments/:id", s.apiSegmentUpdate)
	api.DELETE(write, "/v1/segments/:id", apiDelete(s.store.DeleteSegment))
	api.GET(read, "/v1/segments/:id/count", s.apiSegmentCount)
	api.GET(read, "/v1/imports", s.apiImportList)
	api.POST(write, "/v1/imports", s.apiImportCreate)
	api.GET(read, "/v1/imports/:id", s.apiImportGet)
	api.GET(read, "/v1/templates", s.apiTemplateList)
	api.POST(write, "/v1/templates", s.apiTemplateCreate)
	api.GET(read, "/v1/templates/:id", s.apiTemplateGet)
	api.PATCH(write, "/v1/templates/:id", s.apiTemplateUpdate)
	api.DELETE(write, "/v1/templates/:id", apiDelete(s.store.DeleteTemplate))
	api.GET(read, "/v1/templates/:id/versions", s.apiTemplateVersions)
	api.GET(read, "/v1/templates/:id/versions/:version", s.apiTemplateVersion)
	api.POST(write, "/v1/templates/:id/versions/:version/restore", s.apiTemplateRestore)
	api.POST(write, "/v1/templates/:id/preview", s.apiTemplatePreview)
	api.GET(read, "/v1/media", s.apiMediaList)
	api.POST(write, "/v1/media", s.apiMediaCreate)
	api.DELETE(write, "/v1/media/:id", s.apiMediaDelete)
	api.GET(read, "/v1/contacts/:id/sends", s.apiContactSends)
	api.GET(read, "/v1/campaigns", s.apiCampaignList)
	api.POST(write, "/v1/campaigns", s.apiCampaignCreate)
	api.GET(read, "/v1/campaigns/:id", s.apiCampaignGet)
	api.PATCH(write, "/v1/campaigns/:id", s.apiCampaignUpdate)
	api.DELETE(write, "/v1/campaigns/:id", apiDelete(s.store.DeleteCampaign))
	api.POST(write, "/v1/campaigns/:id/send", s.apiCampaignSend)
	api.POST(write, "/v1/campaigns/:id/schedule", s.apiCampaignSchedule)
	api.POST(write, "/v1/campaigns/:id/test", s.apiCampaignTest)
	api.POST(write, "/v1/campaigns/:id/duplicate", s.apiCampaignDuplicate)
	for _, action := range campaignActions {
		api.POST(write, "/v1/campaigns/:id/"+action, s.apiCampaignChange(action))
	}
	api.POST(write, "/v1/campaigns/:id/resend-failed", s.apiCampaignResendFailed)
	api.GET(read, "/v1/campaigns/:id/stats", s.apiCampaignStats)
	api.GET(read, "/v1/campaigns/:id/recipients", s.apiCampaignRecipients)
	api.GET(read, "/v1/campaigns/:id/report", s.apiCampaignReport)
	api.GET(read, "/v1/campaigns/:id/links", s.apiCampaignLinks)
	api.GET(read, "/v1/campaigns/:id/domains", s.apiCampaignDomains)
	api.GET(read, "/v1/campaigns/:id/events", s.apiCampaignEvents)
	api.GET(read, "/v1/reports/overview", s.apiReportOverview)
	api.GET(read, "/v1/reports/costs", s.apiReportCosts)
	api.GET(read, "/v1/suppressions", s.apiSuppressionList)
	api.POST(write, "/v1/suppressions", s.apiSuppressionCreate)
	api.POST(write, "/v1/suppressions/import", s.apiSuppressionImport)
	api.DELETE(write, "/v1/suppressions/:id", apiDelete(s.store.DeleteSuppression))

	// Transactional email: its pages in the Campaigns section, and its API.
	pages.GET("/messages", s.messageList)
	pages.POST("/messages", s.messageSend)
	pages.GET("/messages/:id", s.messageShow)
	api.GET(read, "/v1/messages", s.apiMessageList)
	api.GET(read, "/v1/messages/stats", s.apiMessageStats)
	api.POST(send, "/v1/messages", s.apiMessageCreate)
	api.GET(read, "/v1/messages/:id", s.apiMessageGet)
}

func (s *Server) notBuilt(sec templates.Section) echo.HandlerFunc {
	return func(c *echo.Context) error {
		return s.render(c, http.StatusOK, templates.NotBuiltPage(s.shell(c, sec.Key, sec.Label), sec))
	}
}

// apiGroup registers the API's routes, each with the one scope a key needs
// for it (anyScope for who-am-I) and the rate class it counts against.
type apiGroup struct {
	s *Server
	g *echo.Group
}

func (a apiGroup) add(method, scope, path string, h echo.HandlerFunc) {
	a.s.scopes[method+" /api"+path] = scope
	a.g.Add(method, path, h, a.s.limitRate(rateClass(method, scope)), requireScope(scope), a.s.idempotent)
}

func (a apiGroup) GET(scope, path string, h echo.HandlerFunc) { a.add(http.MethodGet, scope, path, h) }
func (a apiGroup) POST(scope, path string, h echo.HandlerFunc) {
	a.add(http.MethodPost, scope, path, h)
}
func (a apiGroup) PUT(scope, path string, h echo.HandlerFunc) { a.add(http.MethodPut, scope, path, h) }
func (a apiGroup) PATCH(scope, path string, h echo.HandlerFunc) {
	a.add(http.MethodPatch, scope, path, h)
}
func (a apiGroup) DELETE(scope, path string, h echo.HandlerFunc) {
	a.add(http.MethodDelete, scope, path, h)
}
