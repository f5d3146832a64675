using System.Diagnostics;

namespace CrnpCloud.Testing;

/// <summary>A network namespace joined to this host by a veth pair (10.231.N.1 here, 10.231.N.2 there), removed on dispose.</summary>
public sealed class NetHost : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(1, 200);
    private readonly string _namespace;
    private readonly string _hostSide;
    private readonly string _nsSide;

    private NetHost(int n)
    {
        _namespace = $"crnp-t{Environment.ProcessId % 10000}-{n}";
        _hostSide = $"vc{n}h{Environment.ProcessId % 1000}";
        _nsSide = $"vc{n}n{Environment.ProcessId % 1000}";
        HostAddress = $"10.231.{n}.1";
        ClientAddress = $"10.231.{n}.2";
    }

    public string HostAddress { get; }

    public string ClientAddress { get; }

    public IReadOnlyList<string> Launcher => ["ip", "netns", "exec", _namespace];

    /// <summary>
    /// Why network namespaces must be available here (a test that needs them then fails instead of
    /// skipping), or null: <c>CRNP_REQUIRE_NETNS=1</c> (.ci/run sets it) or <c>CI=true</c>.
    /// </summary>
    public static string? RequiredBy =>
        Environment.GetEnvironmentVariable("CRNP_REQUIRE_NETNS") == "1" ? "CRNP_REQUIRE_NETNS=1"
        : string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) ? "CI=true"
        : null;

    public static bool Supported(out string reason)
    {
        if (Environment.UserName != "root")
        {
            reason = "network namespaces need root";
            return false;
        }
        var probe = $"crnp-probe-{Environment.ProcessId}";
        int code;
        string errors;
        try
        {
            (code, errors) = Ip("netns", "add", probe);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            reason = $"the ip command (iproute2) is not available ({ex.Message})";
            return false;
        }
        Ip("netns", "del", probe);
        reason = code == 0 ? "" : $"the kernel refused a network namespace ({errors.Trim()})";
        return code == 0;
    }

    public static NetHost Create()
    {
        var host = new NetHost(Interlocked.Increment(ref _next) % 250 + 1);
        Must(Ip("netns", "add", host._namespace));
        Must(Ip("link", "add", host._hostSide, "type", "veth", "peer", "name", host._nsSide));
        Must(Ip("link", "set", host._nsSide, "netns", host._namespace));
        Must(Ip("addr", "add", host.HostAddress + "/24", "dev", host._hostSide));
        Must(Ip("link", "set", host._hostSide, "up"));
        Must(Ip("netns", "exec", host._namespace, "ip", "addr", "add", host.ClientAddress + "/24", "dev", host._nsSide));
        Must(Ip("netns", "exec", host._namespace, "ip", "link", "set", host._nsSide, "up"));
        Must(Ip("netns", "exec", host._namespace, "ip", "link", "set", "lo", "up"));
        return host;
    }

    /// <summary>The client-side link: down = the host vanishes (nothing answers), up = back.</summary>
    public Task LinkAsync(bool up)
    {
        Must(Ip("netns", "exec", _namespace, "ip", "link", "set", _nsSide, up ? "up" : "down"));
        return Task.CompletedTask;
    }

    /// <summary>Sets a per-namespace kernel setting inside the namespace, e.g. <c>net/ipv4/tcp_tw_reuse</c>.</summary>
    public void Sysctl(string path, string value) =>
        Must(Ip("netns", "exec", _namespace, "sh", "-c", $"echo '{value}' > /proc/sys/{path}"));

    public ValueTask DisposeAsync()
    {
        Ip("link", "del", _hostSide);
        Ip("netns", "del", _namespace);
        return ValueTask.CompletedTask;
    }

    private static void Must((int Code, string Errors) result)
    {
        if (result.Code != 0)
        {
            throw new InvalidOperationException("ip: " + result.Errors);
        }
    }

    private static (int Code, string Errors) Ip(params string[] args)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, errors);
    }
}
