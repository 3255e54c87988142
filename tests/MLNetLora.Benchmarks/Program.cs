using MLNetLora.Benchmarks;

// Entry point: `dotnet run -c Release --project tests/MLNetLora.Benchmarks -- <suite>... [options]`.
// Suites write docs/benchmarks/<suite>.json (under the repository root) and print a Markdown table.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}
Directory.CreateDirectory(options.OutputDirectory);
foreach (string suite in options.Suites)
{
    switch (suite)
    {
        case "io":
            IoSuite.Run(options);
            break;
        case "ops":
            OpsSuite.Run(options);
            break;
        case "train":
            TrainSuite.Run(options);
            break;
        case "race":
            RaceSuite.Run(options);
            break;
        case "memory":
            MemorySuite.Run(options);
            break;
        case "data":
            DataSuite.Run(options);
            break;
        case "torch":
            TorchSuite.Run(options);
            break;
    }
}
return 0;
