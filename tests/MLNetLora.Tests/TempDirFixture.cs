namespace MLNetLora.Tests;

/// <summary>Base for fixtures whose tests each get a fresh temporary folder, deleted afterwards.</summary>
public abstract class TempDirFixture
{
    /// <summary>This test's folder.</summary>
    protected string Dir { get; private set; } = "";

    /// <summary>Creates the folder.</summary>
    [SetUp]
    public void MakeTempDir() => Dir = TestPaths.NewTempDir();

    /// <summary>Deletes the folder and everything in it.</summary>
    [TearDown]
    public void RemoveTempDir() => Directory.Delete(Dir, recursive: true);
}
