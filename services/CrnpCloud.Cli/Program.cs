using System.CommandLine;
using CrnpCloud.Cli;

var root = new RootCommand("crnpctl: talk to a CrnpCloud (or any CRNP) server: listen for events as a CRNP client, publish events, inspect and remove clients");
root.Subcommands.Add(ListenCommand.Create());
root.Subcommands.Add(PublishCommand.Create());
foreach (var command in AdminCommands.Create())
{
    root.Subcommands.Add(command);
}

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Bad arguments exit with 2, like every other refusal (README, crnpctl exit codes).
    foreach (var error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync("crnpctl: " + error.Message);
    }
    await Console.Error.WriteLineAsync("run 'crnpctl --help' or 'crnpctl COMMAND --help' for the usage");
    return 2;
}

// Ctrl-C cancels the running command; listen then unregisters, which needs a moment.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(15) });
