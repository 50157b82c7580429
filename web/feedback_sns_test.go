package web

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"herald/mailer/feedback/snstest"
)

// snsIDs numbers the SNS messages the tests sign.
var snsIDs atomic.Int32

// snsNotification signs an SES notification as SNS delivers it, with a new
// SNS MessageId each time unless id is given.
func snsNotification(t *testing.T, sns *snstest.Server, version, message, id string) []byte {
	if id == "" {
		id = fmt.Sprintf("msg-%d", snsIDs.Add(1))
	}
	return sns.Sign(t, "Notification", version, map[string]string{"MessageId": id, "Message": message,
		"TopicArn": "arn:aws:sns:us-east-1:123456789012:herald", "Timestamp": time.Now().UTC().Format(time.RFC3339)})
}
