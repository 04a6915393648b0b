package tokenbroker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the ErrorInfo domain of every error tokenbroker raises itself.
const ErrorDomain = "tokenbroker.dev"

// Stable ErrorInfo reasons (Error.Reason). Branch on these, not on messages.
const (
	// IMS rejected the integration's credentials (FAILED_PRECONDITION); see Error.IMSError.
	ReasonIMSRejected = "IMS_REJECTED"
	// IMS could not be reached or kept failing, and no cached token was good enough
	// (UNAVAILABLE).
	ReasonIMSUnavailable = "IMS_UNAVAILABLE"
	// IMS answered with something that is not a token response (UNAVAILABLE).
	ReasonIMSBadResponse = "IMS_BAD_RESPONSE"
	// No integration of that name (NOT_FOUND).
	ReasonIntegrationNotFound = "INTEGRATION_NOT_FOUND"
	// The integration is in STATE_DISABLED (FAILED_PRECONDITION).
	ReasonIntegrationDisabled = "INTEGRATION_DISABLED"
	// A request field is invalid (INVALID_ARGUMENT); see Error.Field.
	ReasonInvalidField = "INVALID_FIELD"
)

// Error is a failed tokenbroker call: the gRPC status plus the rich error details the server
// attaches (google.rpc.ErrorInfo, RetryInfo, BadRequest). Every error returned by this
// package's calls, and by the raw stubs of a Client, is an *Error or wraps one:
//
//	var e *tokenbroker.Error
//	if errors.As(err, &e) && e.Reason == tokenbroker.ReasonIMSRejected {
//		log.Printf("IMS said %s (x-debug-id %s)", e.IMSError, e.XDebugID)
//	}
//
// It never holds a secret or a token: the server keeps them out of messages.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the status message (for people; do not parse it).
	Message string
	// Reason and Domain come from ErrorInfo; empty when the server sent none (e.g. a
	// transport failure, which has no details).
	Reason string
	Domain string
	// Metadata is ErrorInfo's metadata, nil when absent. IMSError, XDebugID, HTTPStatus and
	// Field are taken from it for convenience.
	Metadata map[string]string
	// IMSError is IMS's `error` code, e.g. "invalid_client" or "invalid_scope".
	IMSError string
	// XDebugID is IMS's x-debug-id response header: quote it to Adobe support.
	XDebugID string
	// HTTPStatus is the HTTP status IMS answered with, 0 when unknown.
	HTTPStatus int
	// Field is the invalid request field, for INVALID_ARGUMENT (from ErrorInfo or BadRequest).
	Field string
	// RetryDelay is the server's RetryInfo hint, 0 when absent.
	RetryDelay time.Duration

	// ErrorInfo, RetryInfo and BadRequest are the decoded details, nil when absent.
	ErrorInfo  *errdetails.ErrorInfo
	RetryInfo  *errdetails.RetryInfo
	BadRequest *errdetails.BadRequest

	status *status.Status
}

// Error formats the code, the message and the structured fields that identify the failure.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tokenbroker: ")
	b.WriteString(e.Code.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var extra []string
	if e.Reason != "" {
		extra = append(extra, "reason="+e.Reason)
	}
	if e.IMSError != "" {
		extra = append(extra, "ims_error="+e.IMSError)
	}
	if e.HTTPStatus != 0 {
		extra = append(extra, "http_status="+strconv.Itoa(e.HTTPStatus))
	}
	if e.XDebugID != "" {
		extra = append(extra, "x_debug_id="+e.XDebugID)
	}
	if e.Field != "" {
		extra = append(extra, "field="+e.Field)
	}
	if len(extra) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(extra, " "))
		b.WriteString("]")
	}
	return b.String()
}

// GRPCStatus returns the original status, so that status.FromError and status.Code work on
// an *Error as on any gRPC error.
func (e *Error) GRPCStatus() *status.Status {
	if e.status == nil {
		return status.New(e.Code, e.Message)
	}
	return e.status
}

// Is reports whether target is the sentinel of e's code (ErrNotFound, ErrUnavailable, ...),
// so that errors.Is(err, tokenbroker.ErrNotFound) works.
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.code == e.Code
}

// Unwrap returns context.Canceled for CANCELED and context.DeadlineExceeded for
// DEADLINE_EXCEEDED, so that errors.Is(err, context.DeadlineExceeded) works; nil otherwise.
func (e *Error) Unwrap() error {
	switch e.Code {
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	return nil
}

// Temporary reports whether the same call may succeed later: UNAVAILABLE (what this
// package's retries retry) and RESOURCE_EXHAUSTED.
func (e *Error) Temporary() bool {
	return e.Code == codes.Unavailable || e.Code == codes.ResourceExhausted
}

type sentinel struct{ code codes.Code }

func (s *sentinel) Error() string { return "tokenbroker: " + s.code.String() }

// Sentinels for errors.Is, one per status code the tokenbroker API returns.
var (
	ErrInvalidArgument    error = &sentinel{codes.InvalidArgument}
	ErrNotFound           error = &sentinel{codes.NotFound}
	ErrAlreadyExists      error = &sentinel{codes.AlreadyExists}
	ErrFailedPrecondition error = &sentinel{codes.FailedPrecondition}
	ErrAborted            error = &sentinel{codes.Aborted}
	ErrUnavailable        error = &sentinel{codes.Unavailable}
	ErrPermissionDenied   error = &sentinel{codes.PermissionDenied}
	ErrUnauthenticated    error = &sentinel{codes.Unauthenticated}
	ErrDeadlineExceeded   error = &sentinel{codes.DeadlineExceeded}
	ErrResourceExhausted  error = &sentinel{codes.ResourceExhausted}
)

// FromError converts a gRPC error (from the raw stubs of another connection, say) into an
// *Error, decoding its details. It returns nil for nil, and err itself when it already is an
// *Error. An error that carries no gRPC status becomes code UNKNOWN with err's text, except
// context errors, which become CANCELED or DEADLINE_EXCEEDED.
func FromError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	return fromStatus(st)
}

func fromStatus(st *status.Status) *Error {
	e := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if e.ErrorInfo != nil {
				continue // the first one describes the failure
			}
			e.ErrorInfo = d
			e.Reason = d.GetReason()
			e.Domain = d.GetDomain()
			e.Metadata = d.GetMetadata()
			e.IMSError = e.Metadata["ims_error"]
			e.XDebugID = e.Metadata["x_debug_id"]
			e.HTTPStatus, _ = strconv.Atoi(e.Metadata["http_status"])
			if f := e.Metadata["field"]; f != "" {
				e.Field = f
			}
		case *errdetails.RetryInfo:
			e.RetryInfo = d
			e.RetryDelay = d.GetRetryDelay().AsDuration()
		case *errdetails.BadRequest:
			e.BadRequest = d
			if e.Field == "" && len(d.GetFieldViolations()) > 0 {
				e.Field = d.GetFieldViolations()[0].GetField()
			}
		}
	}
	return e
}

// errorf builds an *Error raised by this package itself (never sent by a server).
func errorf(code codes.Code, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: code, Message: msg, status: status.New(code, msg)}
}
