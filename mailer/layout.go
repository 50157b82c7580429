package mailer

// DefaultLayout is the layout Herald ships: one centred column of tables and
// inline styles, readable in Gmail- and Outlook-style clients and on phones,
// with the footer that bulk mail needs: the sender's postal address and the
// unsubscribe and preferences links.
const DefaultLayout = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<title>{{.Campaign.Subject}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" border="0" style="background-color:#f4f5f7;">
<tr>
<td align="center" style="padding:24px 12px;">
{{outlook_column_start}}
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" border="0" style="max-width:600px;width:100%;">
<tr>
<td style="padding:0 8px 12px 8px;font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:18px;color:#6b7280;text-align:right;">
<a href="{{web_view_url}}" style="color:#6b7280;text-decoration:underline;">View in your browser</a>
</td>
</tr>
<tr>
<td style="background-color:#ffffff;border-radius:8px;padding:32px 32px 24px 32px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:26px;color:#1f2937;">
<div style="font-size:20px;line-height:28px;font-weight:bold;color:#111827;padding-bottom:16px;">{{.Org.Name}}</div>
{{template "content" .}}
</td>
</tr>
<tr>
<td style="padding:20px 24px;font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:18px;color:#6b7280;text-align:center;">
<p style="margin:0 0 8px 0;">{{.Org.Name}}<br>{{.Org.Address}}</p>
<p style="margin:0;">You receive this email because you subscribed.<br>
<a href="{{unsubscribe_url}}" style="color:#6b7280;text-decoration:underline;">Unsubscribe</a> &middot; <a href="{{preferences_url}}" style="color:#6b7280;text-decoration:underline;">Email preferences</a></p>
</td>
</tr>
</table>
{{outlook_column_end}}
</td>
</tr>
</table>
</body>
</html>
`
