package ses

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"herald/mailer"
)

// stage is the mailer.SendError stage of every SES failure: there is one
// call, not an SMTP conversation.
const stage = "ses"

// SES answers in HTTP, so its refusals are given the SMTP reply a relay
// would have used, for mailer.Classify and for people reading the outcome.
const (
	codeTemporary = 421
	codePermanent = 554
)

// meaning is what an SES answer amounts to as an SMTP reply.
type meaning struct {
	enhanced  string
	temporary bool
}

var (
	// throttled: too fast, or the daily quota is spent; the next attempt
	// or the next day's quota can take the message.
	throttled = meaning{"4.7.0", true}
	// unavailable: SES failed on its side.
	unavailable = meaning{"4.3.0", true}
	// refused: SES will not send this message, or nothing from this
	// account, until a person acts: verifies the sender domain, asks AWS to
	// lift a pause or suspension, or changes the message.
	refused = meaning{"5.7.1", false}
	// invalid: the request itself is wrong, such as a malformed address or
	// a configuration set that does not exist.
	invalid = meaning{"5.0.0", false}
)

// reply is SES's answer written as an SMTP reply. It keeps the SDK's error
// underneath, so callers can still errors.As to the typed SES errors, such
// as *types.SendingPausedException, and stop a campaign rather than fail
// each recipient.
type reply struct {
	text string
	err  error
}

func (r *reply) Error() string { return r.text }

func (r *reply) Unwrap() error { return r.err }

// classify turns an error from the SDK into a *mailer.SendError.
func classify(err error) error {
	var apiErr smithy.APIError
	isAPI := errors.As(err, &apiErr)
	status := 0
	var resp interface{ HTTPStatusCode() int }
	if errors.As(err, &resp) {
		status = resp.HTTPStatusCode()
	}
	if !isAPI && status < 400 {
		// SES never answered: a network failure, a timeout, missing
		// credentials or a cancelled context. Code 0 says so, as for SMTP.
		return &mailer.SendError{Stage: stage, Temporary: true, Err: err}
	}
	name, message := fmt.Sprintf("HTTP %d", status), "SES gave no reason"
	if isAPI && apiErr.ErrorCode() != "UnknownError" {
		// The SDK says UnknownError when SES named no error; the status
		// then says more.
		name = fmt.Sprintf("%s (HTTP %d)", apiErr.ErrorCode(), status)
	}
	if isAPI && apiErr.ErrorMessage() != "" && apiErr.ErrorMessage() != apiErr.ErrorCode() {
		message = apiErr.ErrorMessage()
	}
	m := meaningOf(apiErr, status)
	code := codePermanent
	if m.temporary {
		code = codeTemporary
	}
	return &mailer.SendError{
		Stage:          stage,
		Code:           code,
		Temporary:      m.temporary,
		Enhanced:       m.enhanced,
		AccountRefused: accountRefused(apiErr, status),
		Err:            &reply{text: fmt.Sprintf("%d %s %s: %s", code, m.enhanced, name, message), err: err},
	}
}

// accountRefused reports an answer that refuses everything the account
// sends, not one message: sending paused or suspended, a sender domain not
// verified, or keys SES does not accept.
func accountRefused(apiErr smithy.APIError, status int) bool {
	switch apiErr.(type) {
	case *types.SendingPausedException, *types.AccountSuspendedException, *types.MailFromDomainNotVerifiedException:
		return true
	}
	return status == 401 || status == 403
}

// meaningOf reads SES's typed errors first, then error codes the SDK knows
// to be throttling or transient, then the HTTP status.
func meaningOf(apiErr smithy.APIError, status int) meaning {
	switch apiErr.(type) {
	case *types.TooManyRequestsException, *types.LimitExceededException:
		return throttled
	case *types.InternalServiceErrorException, *types.ConcurrentModificationException:
		return unavailable
	case *types.MessageRejected, *types.MailFromDomainNotVerifiedException,
		*types.SendingPausedException, *types.AccountSuspendedException:
		return refused
	case *types.BadRequestException, *types.NotFoundException:
		return invalid
	}
	if apiErr != nil {
		if _, ok := retry.DefaultThrottleErrorCodes[apiErr.ErrorCode()]; ok {
			return throttled
		}
		if _, ok := retry.DefaultRetryableErrorCodes[apiErr.ErrorCode()]; ok {
			return unavailable
		}
	}
	switch {
	case status == 429:
		return throttled
	case status >= 500:
		return unavailable
	case status == 401 || status == 403:
		// Wrong keys or a policy without ses:SendEmail.
		return refused
	}
	return invalid
}
