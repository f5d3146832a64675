using System.Net.Sockets;
using CrnpCloud.Client;
using CrnpCloud.Protocol;

namespace CrnpCloud.Cli;

/// <summary>One registration exchange with a CRNP server (<see cref="CrnpRegistrar"/>), its failures as crnpctl reports them.</summary>
internal static class CrnpSession
{
    public static async Task<CrnpReply> SendAsync(Endpoint server, CallbackRegistration registration, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await CrnpRegistrar.RegisterAsync(server.ToEndPoint(), registration, new CrnpExchangeOptions { Timeout = timeout }, cancellationToken);
        }
        catch (CrnpReplyException ex)
        {
            throw new CliException(ExitCodes.Failure, $"the server at {server} answered with something that is not an SC_REPLY: {ex.Error.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.Unreachable, $"the CRNP server at {server} did not answer within {timeout.TotalSeconds:0} s");
        }
        catch (SocketException ex)
        {
            throw new CliException(ExitCodes.Unreachable, $"cannot reach the CRNP server at {server}: {ex.Message}");
        }
        catch (IOException ex)
        {
            throw new CliException(ExitCodes.Unreachable, $"the connection to the CRNP server at {server} failed: {ex.Message}");
        }
    }
}

/// <summary>An error to print as it is, with the exit code it means.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;

    /// <summary>Bad arguments, or the server refused the request (an SC_REPLY other than OK, INVALID_ARGUMENT, NOT_FOUND).</summary>
    public const int Refused = 2;

    public const int Unreachable = 3;
}
