using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Ingest;

/// <summary>
/// When <see cref="IngestOptions.AuthTokens"/> is set, every call must carry
/// <c>authorization: Bearer &lt;token&gt;</c> with one of them (compared in constant time);
/// otherwise UNAUTHENTICATED. The gRPC health service stays open for probes.
/// </summary>
internal sealed class BearerTokenInterceptor(IOptionsMonitor<IngestOptions> options) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authorize(ServerCallContext context)
    {
        if (!context.Method.StartsWith("/crnp.", StringComparison.Ordinal))
        {
            return;
        }

        var tokens = options.CurrentValue.AuthTokens.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (tokens.Length == 0)
        {
            return;
        }

        var header = context.RequestHeaders.GetValue("authorization");
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "a bearer token is required"));
        }

        var presented = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        var match = false;
        foreach (var token in tokens)
        {
            match |= CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes(token));
        }
        if (!match)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "the bearer token is not accepted"));
        }
    }
}
