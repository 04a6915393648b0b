// Request and response messages of the RPCs that carry secrets, wiped before
// gRPC frees them.
//
// Design note: gRPC's callback API lets a service choose where an RPC's
// request and response live (grpc::MessageAllocator); the holder below owns
// both and, when gRPC releases them after the call, overwrites the secret
// fields (client secrets, private keys, access tokens, Authorization headers)
// with WipeString. Without it those protobuf strings go back to the heap
// intact; glibc's M_PERTURB (server/common/process_hardening.h) misses the
// small ones, which its per-thread cache keeps unscrubbed.
#ifndef TOKENBROKER_SERVER_API_WIPING_ALLOCATOR_H_
#define TOKENBROKER_SERVER_API_WIPING_ALLOCATOR_H_

#include <grpcpp/support/message_allocator.h>

#include "tokenbroker/v1/integration_service.pb.h"
#include "tokenbroker/v1/token_service.pb.h"

namespace tokenbroker {

// Wipes the secret fields of each message type (a no-op for the others).
void WipeSecrets(v1::CreateIntegrationRequest* request);
void WipeSecrets(v1::UpdateIntegrationRequest* request);
void WipeSecrets(v1::ImportIntegrationsRequest* request);
void WipeSecrets(v1::MigrateIntegrationRequest* request);
void WipeSecrets(v1::GetAccessTokenResponse* response);
void WipeSecrets(v1::RefreshAccessTokenResponse* response);
void WipeSecrets(v1::GetRequestHeadersResponse* response);
template <typename Message>
void WipeSecrets(Message*) {}

// Thread-safe (each holder belongs to one RPC); the allocator must outlive
// the server.
template <typename Request, typename Response>
class WipingMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() {
      this->set_request(&request_);
      this->set_response(&response_);
    }
    void Release() override {
      WipeSecrets(&request_);
      WipeSecrets(&response_);
      delete this;
    }

   private:
    Request request_;
    Response response_;
  };
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_API_WIPING_ALLOCATOR_H_
