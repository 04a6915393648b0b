#ifndef TOKENBROKER_SERVER_API_TOKEN_SERVICE_H_
#define TOKENBROKER_SERVER_API_TOKEN_SERVICE_H_

#include "server/api/call_guard.h"
#include "server/api/wiping_allocator.h"
#include "server/broker/token_broker.h"
#include "tokenbroker/v1/token_service.grpc.pb.h"

namespace tokenbroker {

// tokenbroker.v1.TokenService on gRPC's callback API: a thin translator
// over TokenBroker. A cached token is answered on the gRPC callback thread
// without blocking; otherwise the reactor is finished from the broker's
// executor when the shared exchange completes.
class TokenServiceImpl final : public v1::TokenService::CallbackService {
 public:
  // `api` must outlive the service.
  TokenServiceImpl(TokenBroker* broker, const ApiContext* api) : broker_(broker), api_(api) {
    SetMessageAllocatorFor_GetAccessToken(&get_allocator_);
    SetMessageAllocatorFor_GetRequestHeaders(&headers_allocator_);
    SetMessageAllocatorFor_RefreshAccessToken(&refresh_allocator_);
  }

  grpc::ServerUnaryReactor* GetAccessToken(grpc::CallbackServerContext* context,
                                           const v1::GetAccessTokenRequest* request,
                                           v1::GetAccessTokenResponse* response) override;
  grpc::ServerUnaryReactor* GetRequestHeaders(grpc::CallbackServerContext* context,
                                              const v1::GetRequestHeadersRequest* request,
                                              v1::GetRequestHeadersResponse* response) override;
  grpc::ServerUnaryReactor* RefreshAccessToken(grpc::CallbackServerContext* context,
                                               const v1::RefreshAccessTokenRequest* request,
                                               v1::RefreshAccessTokenResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchAccessTokensResponse>* WatchAccessTokens(
      grpc::CallbackServerContext* context, const v1::WatchAccessTokensRequest* request) override;

 private:
  TokenBroker* const broker_;
  const ApiContext* const api_;
  // Wipe the tokens of the responses when gRPC frees them.
  WipingMessageAllocator<v1::GetAccessTokenRequest, v1::GetAccessTokenResponse> get_allocator_;
  WipingMessageAllocator<v1::GetRequestHeadersRequest, v1::GetRequestHeadersResponse>
      headers_allocator_;
  WipingMessageAllocator<v1::RefreshAccessTokenRequest, v1::RefreshAccessTokenResponse>
      refresh_allocator_;
};

}  // namespace tokenbroker

#endif  // TOKENBROKER_SERVER_API_TOKEN_SERVICE_H_
