/**
 * Java client of tokenbroker, the service that hands out Adobe IMS access tokens.
 *
 * <p>Start with {@link dev.tokenbroker.client.TokenbrokerClient}: {@link
 * dev.tokenbroker.client.TokenbrokerClient#tokenSource(String)} gives a cached, self-refreshing
 * {@link dev.tokenbroker.client.TokenSource}, which {@link
 * dev.tokenbroker.client.OkHttpTokenInterceptor} and {@link dev.tokenbroker.client.HttpRequests}
 * turn into headers of Adobe API calls. Failures are {@link
 * dev.tokenbroker.client.TokenbrokerException}s. The generated gRPC classes are in {@code
 * dev.tokenbroker.v1}.
 */
package dev.tokenbroker.client;
