using System.Diagnostics;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// Shows training progress and routes the trainer's log. On a terminal it is a live panel (step and
/// bar, loss, smoothed loss, rate, gradient norm, tokens/s, ETA) redrawn in place; otherwise, so CI
/// logs stay readable, one plain line every N steps. Log lines go to stderr.
/// </summary>
public sealed class TrainingConsole
{
    private const int LogLinesShown = 4;
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(150);
    private readonly CliContext context;
    private readonly int? logEvery;
    private readonly bool live;
    private readonly List<string> held = [];
    private LiveDisplayContext? display;
    private TrainingProgress? last;
    private bool anyReported;
    private readonly Stopwatch sinceRedraw = new();

    /// <summary>Creates the view.</summary>
    /// <param name="context">Where to write.</param>
    /// <param name="logEvery">Plain mode: a line every this many steps; null for about 20 lines per run.</param>
    public TrainingConsole(CliContext context, int? logEvery)
    {
        ArgumentNullException.ThrowIfNull(context);
        this.context = context;
        this.logEvery = logEvery;
        var caps = context.Console.Profile.Capabilities;
        live = caps.Interactive && caps.Ansi;
    }

    /// <summary>Whether progress is a live terminal panel (else plain lines).</summary>
    public bool IsLive => live;

    /// <summary>Writes a log line to stderr (while the live panel is up, it is shown there and written when the panel closes).</summary>
    public void Log(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        // The training layer speaks of its properties (LearningRate); the CLI user knows the flags (--lr).
        line = CliOptionNames.Translate(line);
        // stderr on the same terminal would tear the panel being redrawn above it.
        if (display is not null && SharesTerminal)
        {
            lock (held) held.Add(line);
            Redraw(force: true);
            return;
        }
        context.Error.WriteLine(line);
    }

    /// <summary>Runs <paramref name="body"/> with a progress sink that draws this view.</summary>
    public T Run<T>(Func<IProgress<TrainingProgress>, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var sink = new Sink(this);
        if (!live) return body(sink);
        T result = default!;
        try
        {
            context.Console.Live(Render()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).Start(ctx =>
            {
                display = ctx;
                result = body(sink);
                Redraw(force: true);
            });
        }
        finally
        {
            display = null;
            lock (held)
            {
                foreach (var line in held) context.Error.WriteLine(line);
                held.Clear();
            }
        }
        return result;
    }

    private bool SharesTerminal => ReferenceEquals(context.Error, Console.Error) && !Console.IsErrorRedirected;

    private void Report(TrainingProgress p)
    {
        bool first = !anyReported;
        anyReported = true;
        last = p;
        if (live)
        {
            Redraw(force: p.Step == p.TotalSteps);
            return;
        }
        int every = logEvery ?? (int)Math.Max(1, Math.Ceiling(p.TotalSteps / 20.0));
        if (first || p.Step % every == 0 || p.Step == p.TotalSteps || p.Skipped)
            context.Out.WriteLine(TrainingFormat.ProgressLine(p));
    }

    private void Redraw(bool force)
    {
        if (display is null) return;
        if (!force && sinceRedraw.IsRunning && sinceRedraw.Elapsed < RedrawInterval) return;
        display.UpdateTarget(Render());
        sinceRedraw.Restart();
    }

    private Panel Render()
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        if (last is not { } p)
        {
            grid.AddRow("[grey]step[/]", "starting...");
        }
        else
        {
            double done = p.TotalSteps == 0 ? 1 : (double)p.Step / p.TotalSteps;
            int filled = (int)Math.Round(done * 30);
            grid.AddRow("[grey]step[/]", $"{p.Step}/{p.TotalSteps} [green]{new string('█', filled)}[/][grey]{new string('░', 30 - filled)}[/] {TrainingFormat.Percent(done)}");
            grid.AddRow("[grey]epoch[/]", TrainingFormat.Number(p.Epoch, 2));
            grid.AddRow("[grey]loss[/]", TrainingFormat.Loss(p.Loss) + (p.Skipped ? " [yellow](update skipped)[/]" : ""));
            grid.AddRow("[grey]smoothed loss[/]", TrainingFormat.Loss(p.SmoothedLoss));
            grid.AddRow("[grey]learning rate[/]", RateText.Format(p.LearningRate));
            grid.AddRow("[grey]grad norm[/]", TrainingFormat.Number(p.GradNorm));
            grid.AddRow("[grey]tokens/s[/]", p.TokensPerSecond.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            grid.AddRow("[grey]elapsed / ETA[/]", $"{TrainingFormat.Duration(p.Elapsed)} / {TrainingFormat.Duration(p.Eta)}");
        }
        List<string> recent;
        lock (held) recent = held.TakeLast(LogLinesShown).ToList();
        IRenderable body = recent.Count == 0
            ? grid
            : new Rows(grid, new Markup("[grey]" + Markup.Escape(string.Join("\n", recent)) + "[/]"));
        return new Panel(body).Header("training (Ctrl+C stops and writes a checkpoint)").Border(BoxBorder.Rounded);
    }

    private sealed class Sink(TrainingConsole owner) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => owner.Report(value);
    }
}
