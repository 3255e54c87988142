namespace MLNetLora.Training.Engine;

/// <summary>
/// A <see cref="TrainerOptions"/> value is out of range or does not fit the others. The message starts
/// with the property's name (<c>LearningRate must be above 0 (got -0.001)</c>) and names other
/// properties the way <see cref="TrainerOptions"/> spells them, so a front end can put its own names
/// in their place (a CLI its flags, the ML.NET options their fields) in one table.
/// </summary>
public sealed class TrainerOptionException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="property"/> (a path such as <c>Lora.Rank</c>).</summary>
    public TrainerOptionException(string property, string message, Exception? inner = null) : base(message, inner) => Property = property;

    /// <summary>Creates the exception with a generic message.</summary>
    public TrainerOptionException() : base("A training option is invalid.") => Property = "";

    /// <summary>Creates the exception with a message and no property.</summary>
    public TrainerOptionException(string message) : base(message) => Property = "";

    /// <summary>Creates the exception with a message, no property and an inner exception.</summary>
    public TrainerOptionException(string message, Exception inner) : base(message, inner) => Property = "";

    /// <summary>The option at fault, as a <see cref="TrainerOptions"/> property path (<c>LearningRate</c>, <c>Lora.Rank</c>).</summary>
    public string Property { get; }

    /// <inheritdoc/>
    public override string? ParamName => Property;
}
