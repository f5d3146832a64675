namespace CrnpCloud.Testing;

/// <summary>
/// Real containers through podman, with the containers.conf that works on these machines
/// (charts/tools/podman-env.sh writes it and installs podman when missing).
/// </summary>
public static class Podman
{
    private static readonly Lazy<string> Conf = new(() =>
    {
        var (code, output, errors) = Tool.Run("bash", ["-c", $"source '{Path.Combine(ServiceProcess.RepoRoot(), "charts", "tools", "podman-env.sh")}' && echo \"$CONTAINERS_CONF\""], TimeSpan.FromMinutes(10));
        return code == 0 ? output.Trim() : throw new InvalidOperationException("podman-env.sh failed: " + errors);
    });

    public static (int Code, string Output, string Errors) Run(params string[] args) => Run(TimeSpan.FromMinutes(5), args);

    public static (int Code, string Output, string Errors) Run(TimeSpan timeout, params string[] args) =>
        Tool.Run("podman", args, timeout, new Dictionary<string, string> { ["CONTAINERS_CONF"] = Conf.Value });

    /// <summary>Runs podman and throws with its error output when it fails.</summary>
    public static string Must(params string[] args)
    {
        var (code, output, errors) = Run(args);
        return code == 0 ? output.Trim() : throw new InvalidOperationException($"podman {string.Join(' ', args)}: exit {code}: {errors.Trim()}");
    }

    /// <summary>Everything a container wrote (stdout and stderr), for failure reports.</summary>
    public static string Logs(string container)
    {
        var (_, output, errors) = Run(TimeSpan.FromSeconds(30), "logs", container);
        return output + errors;
    }

    public static void Remove(params string[] containers)
    {
        if (containers.Length > 0)
        {
            Run(TimeSpan.FromMinutes(1), ["rm", "--force", "--time", "2", .. containers]);
        }
    }
}
