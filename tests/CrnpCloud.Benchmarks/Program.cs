using System.CommandLine;
using CrnpCloud.Benchmarks;

var root = new RootCommand("CrnpCloud end-to-end benchmarks on real processes");
root.Subcommands.Add(RegistrationBenchmark.Command());
root.Subcommands.Add(PublishBenchmark.Command());
root.Subcommands.Add(DeliveryBenchmark.Command());
root.Subcommands.Add(IdleBenchmark.Command());
root.Subcommands.Add(E2eBenchmark.Command());
root.Subcommands.Add(BenchResults.CompareCommand());
root.Subcommands.Add(SoakCommand.Command());
root.Subcommands.Add(ReplicationBenchmark.Command());
root.Subcommands.Add(RegistrationBenchmark.FloorServerCommand());
root.Subcommands.Add(PortsBenchmark.Command());
root.Subcommands.Add(PortsBenchmark.SenderCommand());
return await root.Parse(args).InvokeAsync();
