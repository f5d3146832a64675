using System.CommandLine;
using Grpc.Core;
using Grpc.Net.Client;

namespace CrnpCloud.Cli;

/// <summary>Options several commands share, and how a command's errors become messages and exit codes.</summary>
internal static class Options
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static Option<string> Server() => new("--server", "-s")
    {
        Description = "CRNP server (the edge) as host:port",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CRNP_SERVER") ?? "localhost:9444",
    };

    public static Option<string> Ingest() => new("--ingest", "-i")
    {
        Description = "event ingest (gRPC) as host:port",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CRNP_INGEST") ?? "localhost:9445",
    };

    public static Option<string?> Token() => new("--token")
    {
        Description = "bearer token, when the ingest requires one (default: $CRNP_TOKEN)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CRNP_TOKEN"),
    };

    public static Option<bool> Json() => new("--json") { Description = "one JSON object per line, for scripts" };

    public static Endpoint ServerEndpoint(ParseResult result, Option<string> option) => EndpointOf(result, option, 9444);

    public static Endpoint EndpointOf(ParseResult result, Option<string> option, int defaultPort) =>
        Endpoint.TryParse(result.GetValue(option)!, defaultPort, out var endpoint, out var error)
            ? endpoint
            : throw new CliException(ExitCodes.Refused, $"{option.Name}: {error}");

    /// <summary>A channel to the ingest (HTTP/2 without TLS, as the ingest serves in-cluster).</summary>
    public static GrpcChannel Channel(Endpoint ingest) => GrpcChannel.ForAddress($"http://{ingest}");

    public static Metadata Headers(string? token) => token is { Length: > 0 } ? new Metadata { { "authorization", "Bearer " + token } } : [];
}

internal static class Cli
{
    /// <summary>Runs a command; its errors go to stderr as one clear line, with their exit code.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (CliException ex)
        {
            await Console.Error.WriteLineAsync("crnpctl: " + ex.Message);
            return ex.ExitCode;
        }
    }

    /// <summary>A gRPC failure as the user should read it.</summary>
    public static CliException Explain(RpcException ex, Endpoint ingest) => ex.StatusCode switch
    {
        // The client sets DebugException when it could not connect at all; otherwise the ingest answered.
        StatusCode.Unavailable when ex.Status.DebugException is { } cause =>
            new CliException(ExitCodes.Unreachable, $"cannot reach the ingest at {ingest}: {cause.Message}"),
        StatusCode.Unavailable => new CliException(ExitCodes.Unreachable, $"the ingest at {ingest} is unavailable: {ex.Status.Detail}"),
        StatusCode.DeadlineExceeded => new CliException(ExitCodes.Unreachable, $"the ingest at {ingest} did not answer in time"),
        StatusCode.Unauthenticated => new CliException(ExitCodes.Refused, $"the ingest refused the credentials: {ex.Status.Detail} (pass --token or set CRNP_TOKEN)"),
        StatusCode.PermissionDenied => new CliException(ExitCodes.Refused, $"the ingest refused this token for the call: {ex.Status.Detail} (pass an admin token with --token or CRNP_TOKEN)"),
        StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.ResourceExhausted or StatusCode.OutOfRange or StatusCode.FailedPrecondition =>
            new CliException(ExitCodes.Refused, $"{ex.StatusCode}: {ex.Status.Detail}"),
        _ => new CliException(ExitCodes.Failure, $"{ex.StatusCode}: {ex.Status.Detail}"),
    };
}
