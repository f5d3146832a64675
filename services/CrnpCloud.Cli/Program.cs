using System.CommandLine;
using CrnpCloud.Cli;

var root = new RootCommand("crnpctl: talk to a CrnpCloud (or any CRNP) server: listen for events as a CRNP client, publish events, inspect and remove clients");
root.Subcommands.Add(ListenCommand.Create());
root.Subcommands.Add(PublishCommand.Create());
foreach (var command in AdminCommands.Create())
{
    root.Subcommands.Add(command);
}

// Ctrl-C cancels the running command; listen then unregisters, which needs a moment.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(15) });
