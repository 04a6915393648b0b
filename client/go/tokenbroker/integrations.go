package tokenbroker

import (
	"context"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

// The IntegrationService calls. Each goes through the Client like the token calls: its
// deadline (WithCallTimeout, or the context's), its caller token, *Error errors (errors.Is
// with ErrNotFound, ErrAlreadyExists, ...), and retries of UNAVAILABLE, except for the
// calls that change integrations in a way a second attempt would not repeat (Create, Update,
// Delete, Import, Migrate), which are made once. Integration arguments are an id or
// "integrations/{id}". Results never hold a secret: the server returns none.

// CreateIntegration registers the integration in (its Credentials set) under id and returns
// it as stored. Not retried.
// Errors: INVALID_ARGUMENT (a field, see Error.Field), ALREADY_EXISTS, PERMISSION_DENIED.
func (c *Client) CreateIntegration(ctx context.Context, id string, in *pb.Integration) (*pb.Integration, error) {
	resp, err := c.integrations.CreateIntegration(ctx, &pb.CreateIntegrationRequest{
		IntegrationId: id, Integration: in})
	if err != nil {
		return nil, err
	}
	return resp.GetIntegration(), nil
}

// GetIntegration returns one integration.
// Errors: INVALID_ARGUMENT (bad name), NOT_FOUND, PERMISSION_DENIED.
func (c *Client) GetIntegration(ctx context.Context, integration string) (*pb.Integration, error) {
	resp, err := c.integrations.GetIntegration(ctx, &pb.GetIntegrationRequest{
		Name: IntegrationName(integration)})
	if err != nil {
		return nil, err
	}
	return resp.GetIntegration(), nil
}

// ListIntegrations returns one page of integrations in id order (pageSize 0: the server's
// 50) and the token of the next page, "" after the last one.
// Errors: INVALID_ARGUMENT (negative page size, bad page token), PERMISSION_DENIED.
func (c *Client) ListIntegrations(ctx context.Context, pageSize int32, pageToken string) ([]*pb.Integration, string, error) {
	resp, err := c.integrations.ListIntegrations(ctx, &pb.ListIntegrationsRequest{
		PageSize: pageSize, PageToken: pageToken})
	if err != nil {
		return nil, "", err
	}
	return resp.GetIntegrations(), resp.GetNextPageToken(), nil
}

// UpdateIntegration changes the fields named by paths (e.g. "display_name", "state",
// "credentials.client_secrets") to their values in in, whose Name (an id or a name) says
// which integration; when in.Etag is set, the update happens only if it matches. Returns
// the integration as stored. in is not modified. Not retried.
// Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch), PERMISSION_DENIED.
func (c *Client) UpdateIntegration(ctx context.Context, in *pb.Integration, paths ...string) (*pb.Integration, error) {
	if name := IntegrationName(in.GetName()); name != in.GetName() {
		in = proto.Clone(in).(*pb.Integration)
		in.Name = name
	}
	resp, err := c.integrations.UpdateIntegration(ctx, &pb.UpdateIntegrationRequest{
		Integration: in, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	if err != nil {
		return nil, err
	}
	return resp.GetIntegration(), nil
}

// DeleteIntegration deletes an integration, its credentials and its cached tokens; when etag
// is not "", only if it matches. Not retried.
// Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag mismatch), PERMISSION_DENIED.
func (c *Client) DeleteIntegration(ctx context.Context, integration, etag string) error {
	_, err := c.integrations.DeleteIntegration(ctx, &pb.DeleteIntegrationRequest{
		Name: IntegrationName(integration), Etag: etag})
	return err
}

// ImportIntegrations creates (or, with AllowUpdate, replaces) one integration per credential
// of an Adobe Developer Console download or an AEM service credential (req.CredentialFile),
// all or none. Not retried.
// Errors: INVALID_ARGUMENT (the file: the message names the JSON path), ALREADY_EXISTS,
// NOT_FOUND (CredentialName matches none), FAILED_PRECONDITION, ABORTED, PERMISSION_DENIED.
func (c *Client) ImportIntegrations(ctx context.Context, req *pb.ImportIntegrationsRequest) (*pb.ImportIntegrationsResponse, error) {
	return c.integrations.ImportIntegrations(ctx, req)
}

// ListClientSecrets lists the credential's client secrets at the Adobe Developer Console
// (never their values), each matched with the ones the broker stores.
// Errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (the message says what to do),
// UNAVAILABLE (IMS or the Console unreachable), PERMISSION_DENIED.
func (c *Client) ListClientSecrets(ctx context.Context, integration string) (*pb.ListClientSecretsResponse, error) {
	return c.integrations.ListClientSecrets(ctx, &pb.ListClientSecretsRequest{
		Parent: IntegrationName(integration)})
}

// RotateClientSecret rotates the credential's client secret at the Developer Console
// (immediate: delete the old one as soon as the new one works, for a leaked secret). The
// server resumes an interrupted rotation, so UNAVAILABLE is retried like a read; a response
// in STATE_WAITING means: call again later to finish.
// Errors: as ListClientSecrets, and ABORTED (a concurrent rotation).
func (c *Client) RotateClientSecret(ctx context.Context, integration string, immediate bool) (*pb.RotateClientSecretResponse, error) {
	return c.integrations.RotateClientSecret(ctx, &pb.RotateClientSecretRequest{
		Parent: IntegrationName(integration), Immediate: immediate})
}

// MigrateIntegration converts a JWT integration to OAuth Server-to-Server (req.Name: an id or
// a name) and returns it as stored. req is not modified. Not retried.
// Errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (not JWT, or IMS refused the S2S
// credential), UNAVAILABLE (IMS unreachable), ABORTED, PERMISSION_DENIED.
func (c *Client) MigrateIntegration(ctx context.Context, req *pb.MigrateIntegrationRequest) (*pb.Integration, error) {
	if name := IntegrationName(req.GetName()); name != req.GetName() {
		req = proto.Clone(req).(*pb.MigrateIntegrationRequest)
		req.Name = name
	}
	resp, err := c.integrations.MigrateIntegration(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.GetIntegration(), nil
}
