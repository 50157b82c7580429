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

	"herald/templates"
)

// PublicRoutes are the only routes an anonymous visitor may use; every other
// route must refuse anonymous requests.
var PublicRoutes = map[string]bool{
	"GET /healthz":     true,
	"GET /static/*":    true,
	"GET /setup":       true,
	"POST /setup":      true,
	"GET /login":       true,
	"POST /login":      true,
	"GET /favicon.ico": true,

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
var builtSections = map[string]bool{"dashboard": true, "settings": true, "contacts": true, "lists": true, "segments": true, "templates": true, "campaigns": true, "reports": true}

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
	"POST /hooks/ses/:token":             webhookBody,
	"POST /hooks/postmark/:token":        webhookBody,
	"POST /hooks/sendgrid/:token":        webhookBody,
	"POST /hooks/mailgun/:token":         webhookBody,
}

// routes registers every route Herald serves.
func (s *Server) routes(e *echo.Echo) {
	e.Pre(s.securityHeaders, headAsGet)
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

	admin := e.Group("", s.requireUser)
	admin.POST("/logout", s.logout)
	admin.GET("/", s.dashboard)
	for _, sec := range templates.Sections() {
		if !builtSections[sec.Key] {
			admin.GET(sec.Path, s.notBuilt(sec))
		}
	}
	admin.GET("/contacts", s.contactList)
	admin.GET("/contacts/new", s.contactNew)
	admin.POST("/contacts", s.contactCreate)
	admin.GET("/contacts/export", s.contactExportUI)
	admin.POST("/contacts/bulk", s.contactBulk)
	admin.GET("/contacts/import", s.importList)
	admin.POST("/contacts/import", s.importUpload)
	admin.GET("/contacts/import/:id", s.importShow)
	admin.POST("/contacts/import/:id", s.importStart)
	admin.POST("/contacts/import/:id/cancel", s.importCancel)
	admin.GET("/contacts/import/:id/progress", s.importProgress)
	admin.GET("/contacts/suppressions", s.suppressionList)
	admin.POST("/contacts/suppressions", s.suppressionAdd)
	admin.POST("/contacts/suppressions/import", s.suppressionImport)
	admin.POST("/contacts/suppressions/:id/delete", s.suppressionDelete)
	admin.GET("/contacts/:id", s.contactShow)
	admin.POST("/contacts/:id", s.contactUpdate)
	admin.POST("/contacts/:id/lists", s.contactSetList)
	admin.POST("/contacts/:id/delete", s.contactDelete)
	admin.POST("/contacts/:id/erase", s.contactErase)
	admin.GET("/contacts/:id/export", s.contactExportOne)
	admin.GET("/segments", s.segmentList)
	admin.GET("/segments/new", s.segmentNew)
	admin.POST("/segments", s.segmentSave)
	admin.POST("/segments/editor", s.segmentEditorEdit)
	admin.POST("/segments/count", s.segmentCountLive)
	admin.GET("/segments/:id", s.segmentEdit)
	admin.POST("/segments/:id", s.segmentSave)
	admin.GET("/segments/:id/count", s.segmentCountSaved)
	admin.POST("/segments/:id/delete", s.segmentDelete)
	admin.GET("/templates", s.templateList)
	admin.POST("/templates", s.templateCreate)
	admin.POST("/templates/preview", s.templatePreview)
	admin.GET("/templates/preview/:key", s.previewShow)
	admin.GET("/templates/media", s.mediaList)
	admin.POST("/templates/media", s.mediaUpload)
	admin.POST("/templates/media/:id/delete", s.mediaDelete)
	admin.GET("/templates/:id", s.templateEdit)
	admin.POST("/templates/:id", s.templateUpdate)
	admin.POST("/templates/:id/delete", s.templateDelete)
	admin.POST("/templates/:id/test", s.templateTest)
	admin.GET("/templates/:id/versions", s.templateVersions)
	admin.GET("/templates/:id/versions/:version", s.templateVersionShow)
	admin.POST("/templates/:id/versions/:version/restore", s.templateRestore)
	admin.GET("/campaigns", s.campaignList)
	admin.POST("/campaigns", s.campaignCreate)
	admin.GET("/campaigns/:id", s.campaignShow)
	admin.POST("/campaigns/:id", s.campaignSave(""))
	admin.POST("/campaigns/:id/send", s.campaignSave("send"))
	admin.POST("/campaigns/:id/schedule", s.campaignSave("schedule"))
	for _, action := range campaignActions {
		admin.POST("/campaigns/:id/"+action, s.campaignChange(action))
	}
	admin.POST("/campaigns/:id/duplicate", s.campaignDuplicate)
	admin.POST("/campaigns/:id/delete", s.campaignDelete)
	admin.POST("/campaigns/:id/resend-failed", s.campaignResendFailed)
	admin.POST("/campaigns/:id/test", s.campaignTestSend)
	admin.GET("/campaigns/:id/progress", s.campaignProgressShow)
	admin.GET("/campaigns/:id/recipients", s.campaignRecipients)
	admin.GET("/campaigns/:id/report", s.campaignReport)
	admin.GET("/campaigns/:id/report/live", s.campaignReportLive)
	admin.GET("/campaigns/:id/report/breakdowns", s.campaignReportBreakdowns)
	admin.GET("/campaigns/:id/report/recipients.csv", s.campaignReportCSV)
	admin.POST("/campaigns/:id/report/not-opened", s.campaignNotOpened)
	admin.GET("/reports", s.reportsShow)
	admin.GET("/reports/compare", s.reportsCompare)
	admin.GET("/reports/export.csv", s.reportsExport("csv"))
	admin.GET("/reports/export.json", s.reportsExport("json"))
	admin.GET("/lists", s.listList)
	admin.GET("/lists/new", s.listNew)
	admin.POST("/lists", s.listCreate)
	admin.GET("/lists/:id", s.listEdit)
	admin.POST("/lists/:id", s.listUpdate)
	admin.POST("/lists/:id/delete", s.listDelete)
	admin.GET("/settings", s.generalForm)
	admin.POST("/settings", s.generalSave)
	admin.GET("/settings/relays", s.relayList)
	admin.GET("/settings/relays/new", s.relayNew)
	admin.POST("/settings/relays", s.relayCreate)
	admin.GET("/settings/relays/:id", s.relayEdit)
	admin.POST("/settings/relays/:id", s.relayUpdate)
	admin.POST("/settings/relays/:id/delete", s.relayDelete)
	admin.POST("/settings/relays/:id/test", s.relayTest)
	admin.GET("/settings/domains", s.domainList)
	admin.POST("/settings/domains", s.domainKeyCreate)
	admin.GET("/settings/domains/:domain/check", s.domainCheck)
	admin.POST("/settings/domains/keys/:id/enable", s.dkimKeyEnable(true))
	admin.POST("/settings/domains/keys/:id/disable", s.dkimKeyEnable(false))
	admin.POST("/settings/domains/keys/:id/delete", s.dkimKeyDelete)
	admin.GET("/settings/emails", s.emailsForm)
	admin.POST("/settings/emails", s.emailsSave)
	admin.GET("/settings/bounces", s.bouncesForm)
	admin.POST("/settings/bounces", s.bouncesSave)
	admin.GET("/settings/api-keys", s.apiKeyList)
	admin.POST("/settings/api-keys", s.apiKeyCreate)
	admin.POST("/settings/api-keys/:id/revoke", s.apiKeyRevoke)
	admin.GET("/settings/jobs", s.jobList)

	api := e.Group("/api", s.requireAPIKey, s.apiRateLimit())
	api.GET("/v1/me", s.apiMe)
	api.GET("/v1/settings", s.apiSettingsGet)
	api.PATCH("/v1/settings", s.apiSettingsUpdate)
	api.GET("/v1/settings/feedback", s.apiFeedbackSettingsGet)
	api.PUT("/v1/settings/feedback", s.apiFeedbackSettingsUpdate)
	api.GET("/v1/relays", s.apiRelayList)
	api.POST("/v1/relays", s.apiRelayCreate)
	api.GET("/v1/relays/:id", s.apiRelayGet)
	api.PATCH("/v1/relays/:id", s.apiRelayUpdate)
	api.DELETE("/v1/relays/:id", apiDelete(s.store.DeleteRelay))
	api.POST("/v1/relays/:id/test", s.apiRelayTest)
	api.GET("/v1/dkim-keys", s.apiDKIMKeyList)
	api.POST("/v1/dkim-keys", s.apiDKIMKeyCreate)
	api.GET("/v1/dkim-keys/:id", s.apiDKIMKeyGet)
	api.PATCH("/v1/dkim-keys/:id", s.apiDKIMKeyUpdate)
	api.DELETE("/v1/dkim-keys/:id", apiDelete(s.out.DeleteDKIMKey))
	api.GET("/v1/domains/:domain/check", s.apiDomainCheck)

	api.GET("/v1/contacts", s.apiContactList)
	api.POST("/v1/contacts", s.apiContactCreate)
	api.GET("/v1/contacts/export", s.apiContactExportAll)
	api.POST("/v1/contacts/bulk", s.apiContactBulk)
	api.GET("/v1/contacts/:id", s.apiContactGet)
	api.PATCH("/v1/contacts/:id", s.apiContactUpdate)
	api.DELETE("/v1/contacts/:id", apiDelete(s.store.DeleteContact))
	api.GET("/v1/contacts/:id/export", s.apiContactExport)
	api.GET("/v1/contacts/:id/events", s.apiContactEvents)
	api.POST("/v1/contacts/:id/erase", s.apiContactErase)
	api.GET("/v1/tags", s.apiTagList)
	api.GET("/v1/lists", s.apiListList)
	api.POST("/v1/lists", s.apiListCreate)
	api.GET("/v1/lists/:id", s.apiListGet)
	api.PATCH("/v1/lists/:id", s.apiListUpdate)
	api.DELETE("/v1/lists/:id", apiDelete(s.store.DeleteList))
	api.GET("/v1/segments", s.apiSegmentList)
	api.POST("/v1/segments", s.apiSegmentCreate)
	api.POST("/v1/segments/count", s.apiSegmentPreview)
	api.GET("/v1/segments/:id", s.apiSegmentGet)
	api.PATCH("/v1/segments/:id", s.apiSegmentUpdate)
	api.DELETE("/v1/segments/:id", apiDelete(s.store.DeleteSegment))
	api.GET("/v1/segments/:id/count", s.apiSegmentCount)
	api.GET("/v1/imports", s.apiImportList)
	api.POST("/v1/imports", s.apiImportCreate)
	api.GET("/v1/imports/:id", s.apiImportGet)
	api.GET("/v1/templates", s.apiTemplateList)
	api.POST("/v1/templates", s.apiTemplateCreate)
	api.GET("/v1/templates/:id", s.apiTemplateGet)
	api.PATCH("/v1/templates/:id", s.apiTemplateUpdate)
	api.DELETE("/v1/templates/:id", apiDelete(s.store.DeleteTemplate))
	api.GET("/v1/templates/:id/versions", s.apiTemplateVersions)
	api.GET("/v1/templates/:id/versions/:version", s.apiTemplateVersion)
	api.POST("/v1/templates/:id/versions/:version/restore", s.apiTemplateRestore)
	api.POST("/v1/templates/:id/preview", s.apiTemplatePreview)
	api.GET("/v1/media", s.apiMediaList)
	api.POST("/v1/media", s.apiMediaCreate)
	api.DELETE("/v1/media/:id", s.apiMediaDelete)
	api.GET("/v1/contacts/:id/sends", s.apiContactSends)
	api.GET("/v1/campaigns", s.apiCampaignList)
	api.POST("/v1/campaigns", s.apiCampaignCreate)
	api.GET("/v1/campaigns/:id", s.apiCampaignGet)
	api.PATCH("/v1/campaigns/:id", s.apiCampaignUpdate)
	api.DELETE("/v1/campaigns/:id", apiDelete(s.store.DeleteCampaign))
	api.POST("/v1/campaigns/:id/send", s.apiCampaignSend)
	api.POST("/v1/campaigns/:id/schedule", s.apiCampaignSchedule)
	api.POST("/v1/campaigns/:id/test", s.apiCampaignTest)
	api.POST("/v1/campaigns/:id/duplicate", s.apiCampaignDuplicate)
	for _, action := range campaignActions {
		api.POST("/v1/campaigns/:id/"+action, s.apiCampaignChange(action))
	}
	api.POST("/v1/campaigns/:id/resend-failed", s.apiCampaignResendFailed)
	api.GET("/v1/campaigns/:id/stats", s.apiCampaignStats)
	api.GET("/v1/campaigns/:id/recipients", s.apiCampaignRecipients)
	api.GET("/v1/campaigns/:id/report", s.apiCampaignReport)
	api.GET("/v1/campaigns/:id/links", s.apiCampaignLinks)
	api.GET("/v1/campaigns/:id/domains", s.apiCampaignDomains)
	api.GET("/v1/campaigns/:id/events", s.apiCampaignEvents)
	api.GET("/v1/reports/overview", s.apiReportOverview)
	api.GET("/v1/suppressions", s.apiSuppressionList)
	api.POST("/v1/suppressions", s.apiSuppressionCreate)
	api.POST("/v1/suppressions/import", s.apiSuppressionImport)
	api.DELETE("/v1/suppressions/:id", apiDelete(s.store.DeleteSuppression))

	// Transactional email: its pages in the Campaigns section, and its API.
	admin.GET("/messages", s.messageList)
	admin.POST("/messages", s.messageSend)
	admin.GET("/messages/:id", s.messageShow)
	api.GET("/v1/messages", s.apiMessageList)
	api.POST("/v1/messages", s.apiMessageCreate)
	api.GET("/v1/messages/:id", s.apiMessageGet)
}

func (s *Server) notBuilt(sec templates.Section) echo.HandlerFunc {
	return func(c *echo.Context) error {
		return s.render(c, http.StatusOK, templates.NotBuiltPage(s.shell(c, sec.Key, sec.Label), sec))
	}
}
