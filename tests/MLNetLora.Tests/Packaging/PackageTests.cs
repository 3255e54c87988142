using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace MLNetLora.Tests.Packaging;

/// <summary>
/// <c>dotnet pack</c> of the four libraries from a copy of the sources, then a copy of samples/SpamClassifier that
/// references MLNetLora.ML from a folder holding only those packages (plus the usual package source for the rest),
/// built and run as a user's app: the metadata is there, libtorch resolves through the packages, the sample trains.
/// </summary>
[NonParallelizable]
[Category("Packaging")]
public sealed class PackageTests
{
    private static readonly string[] Libraries = ["MLNetLora.LibTorch", "MLNetLora.Models", "MLNetLora.Training", "MLNetLora.ML"];
    private string root = "";

    [OneTimeSetUp]
    public void MakeRoot() => root = TestPaths.NewTempDir();

    [OneTimeTearDown]
    public void RemoveRoot()
    {
        try { Directory.Delete(root, recursive: true); }
        catch (IOException) { }   // the OS cleans its temp folder; a leftover must not fail the run
    }

    [Test]
    public void Pack_ThenRestoreASampleFromTheLocalFolder_BuildsAndRuns()
    {
        string sources = Path.Combine(root, "sources"), feed = Path.Combine(root, "feed");
        CopyTree(Path.Combine(TestPaths.RepoRoot, "src"), Path.Combine(sources, "src"));
        foreach (string f in new[] { "Directory.Build.props", "LICENSE" }) File.Copy(Path.Combine(TestPaths.RepoRoot, f), Path.Combine(sources, f));
        foreach (string lib in Libraries)
            Dotnet(sources, "pack", Path.Combine("src", lib, lib + ".csproj"), "-c", "Release", "-o", feed);

        string version = "";
        foreach (string lib in Libraries)
        {
            string nupkg = Directory.GetFiles(feed, lib + ".*.nupkg").Single(p => !p.EndsWith(".symbols.nupkg", StringComparison.Ordinal));
            version = Path.GetFileNameWithoutExtension(nupkg)[(lib.Length + 1)..];
            using var zip = ZipFile.OpenRead(nupkg);
            var nuspec = XDocument.Load(zip.GetEntry(lib + ".nuspec")!.Open());
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var meta = nuspec.Root.Element(ns + "metadata")!;
            Assert.That(meta.Element(ns + "description")!.Value, Has.Length.GreaterThan(60), lib);
            Assert.That(meta.Element(ns + "readme")?.Value, Is.EqualTo("README.md"), lib);
            Assert.That(meta.Element(ns + "license")?.Value, Is.EqualTo("MIT"), lib);
            Assert.That(zip.GetEntry("README.md"), Is.Not.Null, lib);
            Assert.That(zip.GetEntry($"lib/net10.0/{lib}.dll"), Is.Not.Null, lib);
            Assert.That(zip.GetEntry($"lib/net10.0/{lib}.xml"), Is.Not.Null, lib + ": XML docs for IntelliSense");
            var dependencies = meta.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
            if (lib == "MLNetLora.LibTorch")
                Assert.That(dependencies, Is.EqualTo(new[] { "libtorch-cpu" }), "the package that brings linux-x64, win-x64 and osx-arm64");
            if (lib == "MLNetLora.ML") Assert.That(dependencies, Is.EquivalentTo(new[] { "MLNetLora.Training", "Microsoft.ML" }));
        }

        string app = Path.Combine(root, "app");
        Directory.CreateDirectory(Path.Combine(app, "data"));
        foreach (string cs in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "samples", "SpamClassifier"), "*.cs"))
            File.Copy(cs, Path.Combine(app, Path.GetFileName(cs)));
        File.Copy(Path.Combine(TestPaths.RepoRoot, "samples", "Common", "SampleArgs.cs"), Path.Combine(app, "SampleArgs.cs"));
        File.Copy(Path.Combine(TestPaths.RepoRoot, "samples", "data", "spam.tsv"), Path.Combine(app, "data", "spam.tsv"));
        File.WriteAllText(Path.Combine(app, "SpamClassifier.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <!-- Copies this platform's libtorch only, not all three that libtorch-cpu brings. -->
                <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
                <SelfContained>false</SelfContained>
                <RestorePackagesPath>{Path.Combine(root, "packages")}</RestorePackagesPath>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MLNetLora.ML" Version="{version}" />
                <None Include="data/*" CopyToOutputDirectory="PreserveNewest" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="mlnetlora-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        Dotnet(app, "build", "-c", "Release");
        string output = Dotnet(app, Path.Combine("bin", "Release", "net10.0", "linux-x64", "SpamClassifier.dll"),
            "--quick", "--model", TestPaths.Fixture("llama"), "--output", Path.Combine(root, "out"));
        Assert.That(output, Does.Contain("held-out accuracy"));
        Assert.That(File.Exists(Path.Combine(root, "out", "SpamClassifier.zip")), Is.True, output);
        Assert.That(File.Exists(Path.Combine(app, "bin", "Release", "net10.0", "linux-x64", "libtorch_cpu.so")), Is.True,
            "libtorch came through the packages");
        Assert.That(Directory.Exists(Path.Combine(app, "bin", "Release", "net10.0", "linux-x64", "runtimes", "win-x64")), Is.False);
    }

    private static string Dotnet(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        // The test host's MSBuild settings would point the child build at the test run's own SDK state.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k == "MSBuildExtensionsPath" || k == "MSBuildSDKsPath").ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.That(p.WaitForExit(600_000), Is.True, $"dotnet {string.Join(' ', args)} did not finish within 10 minutes");
        string all = stdout + stderr.Result;
        Assert.That(p.ExitCode, Is.EqualTo(0), $"dotnet {string.Join(' ', args)} in {workingDirectory}:\n{all}");
        return all;
    }

    private static void CopyTree(string from, string to)
    {
        foreach (string dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(from, dir);
            if (rel.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")) continue;
            Directory.CreateDirectory(Path.Combine(to, rel));
        }
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(from, file);
            if (rel.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, rel))!);
            File.Copy(file, Path.Combine(to, rel));
        }
    }
}
