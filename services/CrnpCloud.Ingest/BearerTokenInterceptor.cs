using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Ingest;

/// <summary>
/// Bearer tokens with roles. When any of <see cref="IngestOptions.PublishTokens"/>,
/// <see cref="IngestOptions.AdminTokens"/> or <see cref="IngestOptions.AuthTokens"/> is set, every
/// crnp.* call must carry <c>authorization: Bearer &lt;token&gt;</c> with a configured token, else
/// UNAUTHENTICATED; crnp.v1.EventIngest needs a publish or admin token, every other crnp.* service
/// (crnp.v1.Admin) an admin token, else PERMISSION_DENIED. The gRPC health and reflection services
/// stay open for probes and tools.
/// </summary>
internal sealed class BearerTokenInterceptor : Interceptor
{
    private const string PublishService = "/crnp.v1.EventIngest/";
    private readonly IngestTelemetry _telemetry;
    private readonly ILogger<BearerTokenInterceptor> _logger;
    private volatile TokenTable _tokens;

    public BearerTokenInterceptor(IOptionsMonitor<IngestOptions> options, IngestTelemetry telemetry, ILogger<BearerTokenInterceptor> logger)
    {
        _telemetry = telemetry;
        _logger = logger;
        _tokens = TokenTable.From(options.CurrentValue);
        options.OnChange(o => _tokens = TokenTable.From(o));
    }

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
        var method = context.Method;
        var tokens = _tokens;
        if (!method.StartsWith("/crnp.", StringComparison.Ordinal) || !tokens.Required)
        {
            return;
        }

        var header = context.RequestHeaders.GetValue("authorization");
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw Refuse(StatusCode.Unauthenticated, method, context.Peer, "no bearer token", "a bearer token is required (authorization: Bearer <token>)");
        }

        var role = tokens.RoleOf(header[scheme.Length..].Trim());
        if (role == TokenRole.None)
        {
            throw Refuse(StatusCode.Unauthenticated, method, context.Peer, "unknown token", "the bearer token is not accepted");
        }
        var needed = method.StartsWith(PublishService, StringComparison.Ordinal) ? TokenRole.Publish : TokenRole.Admin;
        if (role < needed)
        {
            throw Refuse(StatusCode.PermissionDenied, method, context.Peer, "publish token",
                $"this token may only publish (crnp.v1.EventIngest); {method.TrimStart('/')} needs an admin token (Crnp:Ingest:AdminTokens)");
        }
    }

    private RpcException Refuse(StatusCode status, string method, string peer, string reason, string detail)
    {
        var service = method.Split('/', StringSplitOptions.RemoveEmptyEntries) is [var name, ..] ? name : method;
        _telemetry.Refused(service, status == StatusCode.PermissionDenied ? "permission_denied" : "unauthenticated");
        if (status == StatusCode.PermissionDenied)
        {
            IngestLog.PermissionDenied(_logger, method, peer);
        }
        else
        {
            IngestLog.Unauthenticated(_logger, method, peer, reason);
        }
        return new RpcException(new Status(status, detail));
    }
}
