// Runs the tests of MLNetLora.Tests whose full names contain any of the arguments, with NUnit's own in-process runner,
// and prints one line per failure and a summary; exit code 0 when nothing failed. On the GPU machine:
//   dotnet .gpu/app/MLNetLora.DeviceRunner/MLNetLora.DeviceRunner.dll MLNetLora.Tests.Binding MLNetLora.Tests.Devices TrajectoryReplay
// and our side of the race: ... MLNetLora.DeviceRunner.dll race --shapes smollm2-135m,llama3.2-1b --out DIR
// MLNETLORA_FIXTURES names the folder of the Hugging Face fixtures when ../shared is not beside the checkout.
using System.Reflection;
using NUnit.Framework.Api;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;
using MLNetLora.DeviceRunner;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: MLNetLora.DeviceRunner NAME_PART...   (tests whose full name contains any part)\n" +
                            "       MLNetLora.DeviceRunner race [options] (the benchmarks' race suite; see its --help)");
    return 2;
}
if (args[0] == "race")
{
    var options = MLNetLora.Benchmarks.BenchOptions.Parse(args);
    if (options is null)
    {
        Console.Error.WriteLine(MLNetLora.Benchmarks.BenchOptions.Usage);
        return 2;
    }
    Directory.CreateDirectory(options.OutputDirectory);
    MLNetLora.Benchmarks.RaceSuite.Run(options);
    return 0;
}
var runner = new NUnitTestAssemblyRunner(new DefaultTestAssemblyBuilder());
runner.Load(Assembly.Load("MLNetLora.Tests"), new Dictionary<string, object>());
var listener = new Listener(Console.Out);   // NUnit redirects Console while tests run; report on the real one
var result = runner.Run(listener, new NameFilter(args));
Console.WriteLine($"{result.PassCount} passed, {result.FailCount} failed, {result.SkipCount + result.InconclusiveCount} skipped");
return result.FailCount == 0 && result.PassCount > 0 ? 0 : 1;

namespace MLNetLora.DeviceRunner
{
    internal sealed class NameFilter(string[] parts) : TestFilter
    {
        public override bool Match(ITest test) => !test.IsSuite && parts.Any(p => test.FullName.Contains(p, StringComparison.Ordinal));

        public override TNode AddToXml(TNode parentNode, bool recursive) => parentNode.AddElement("name-filter", string.Join(",", parts));
    }

    internal sealed class Listener(TextWriter output) : ITestListener
    {
        public void TestStarted(ITest test) { }

        public void TestFinished(ITestResult result)
        {
            if (result.HasChildren) return;
            string status = result.ResultState.Status.ToString().ToLowerInvariant();
            output.WriteLine($"{status,-12} {result.FullName} ({result.Duration:F1} s)");
            output.Flush();
            if (result.ResultState.Status == TestStatus.Failed) output.WriteLine("    " + result.Message?.Replace("\n", "\n    ", StringComparison.Ordinal));
            if (!string.IsNullOrWhiteSpace(result.Output)) output.WriteLine("    " + result.Output.Trim().Replace("\n", "\n    ", StringComparison.Ordinal));
        }

        public void TestOutput(TestOutput output) { }

        public void SendMessage(TestMessage message) { }
    }
}
