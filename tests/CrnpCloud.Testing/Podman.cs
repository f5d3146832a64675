namespace CrnpCloud.Testing;

/// <summary>
/// Real containers through podman, with the containers.conf that works on these machines
/// (charts/tools/podman-env.sh writes it and installs podman when missing).
/// </summary>
public static class Podman
{
    private static readonly Lazy<string> Conf = new(() =>
    {
        // Run (not sourced), the script prints the path of the containers.conf it wrote.
        var (code, output, errors) = Tool.Run("bash", [Path.Combine(ServiceProcess.RepoRoot(), "charts", "tools", "podman-env.sh")], TimeSpan.FromMinutes(10));
        var path = output.Trim();
        return code == 0 && File.Exists(path) ? path : throw new InvalidOperationException("charts/tools/podman-env.sh failed (it installs podman when missing):\n" + errors);
    });

    /// <summary>The CONTAINERS_CONF every podman call here runs with (installs podman first when missing).</summary>
    public static string ContainersConf => Conf.Value;

    public static (int Code, string Output, string Errors) Run(params string[] args) => Run(TimeSpan.FromMinutes(5), args);

    public static (int Code, string Output, string Errors) Run(TimeSpan timeout, params string[] args) =>
        Tool.Run("podman", args, timeout, new Dictionary<string, string> { ["CONTAINERS_CONF"] = ContainersConf });

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
