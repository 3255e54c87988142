using MLNetLora.LibTorch.Interop;

namespace MLNetLora.LibTorch;

/// <summary>
/// Entry point of the binding: loads libtorch once per process (see <see cref="LibTorchLoader"/> for
/// the search order) and translates between .NET enums and libtorch's integer codes.
/// </summary>
public static unsafe class Torch
{
    private static readonly Lazy<LibTorchInfo> Loaded = new(LoadOnce, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int[] dtypeCodes = [];
    private static int cpuCode, cudaCode;

    // Grad mode is thread-local in libtorch; we write backward passes by hand, so it is switched off
    // on every thread the first time that thread calls an op.
    [ThreadStatic] private static bool gradModeSetOnThread;

    /// <summary>Loads libtorch if needed and describes what was loaded.</summary>
    /// <exception cref="LibTorchNotFoundException">No usable libtorch was found; the message lists every path tried.</exception>
    public static LibTorchInfo Info => Loaded.Value;

    /// <summary>Whether CUDA kernels are available (a CUDA build of libtorch was loaded).</summary>
    public static bool CudaAvailable => Info.CudaLoaded;

    /// <summary>Loads libtorch now rather than on the first tensor operation.</summary>
    /// <exception cref="LibTorchNotFoundException">No usable libtorch was found.</exception>
    public static void EnsureLoaded()
    {
        _ = Loaded.Value;
        if (!gradModeSetOnThread)
        {
            AotiShim.grad_mode_set_enabled(0);
            gradModeSetOnThread = true;
        }
    }

    /// <summary>
    /// Tensor references created and not yet released, process-wide. A count that keeps growing
    /// across training steps means tensors are left to the finalizer instead of being disposed.
    /// </summary>
    public static long LiveTensors => Interop.TensorHandle.Live;

    /// <summary>Whether libtorch records autograd history on this thread (off by default).</summary>
    public static bool GradModeEnabled
    {
        get { EnsureLoaded(); return AotiShim.grad_mode_is_enabled() != 0; }
        set { EnsureLoaded(); AotiShim.grad_mode_set_enabled(value ? (byte)1 : (byte)0); }
    }

    internal static int DTypeCode(DType t) { EnsureLoaded(); return dtypeCodes[(int)t]; }

    internal static DType DTypeFromCode(int code)
    {
        int i = Array.IndexOf(dtypeCodes, code);
        if (i < 0) throw new NotSupportedException($"libtorch dtype code {code} has no MLNetLora DType; convert the tensor to a supported dtype first.");
        return (DType)i;
    }

    internal static int DeviceTypeCode(DeviceType t) => t == DeviceType.Cpu ? cpuCode : cudaCode;

    internal static DeviceType DeviceTypeFromCode(int code) =>
        code == cpuCode ? DeviceType.Cpu
        : code == cudaCode ? DeviceType.Cuda
        : throw new NotSupportedException($"libtorch device type {code} is not supported by MLNetLora (CPU and CUDA are).");

    private static LibTorchInfo LoadOnce()
    {
        // libtorch's allocator puts every large CPU tensor on huge pages when THP_MEM_ALLOC_ENABLE is
        // set. That was the default once, for checkpoint loading, but a training step then spent 23%
        // longer zeroing fresh huge pages for activations freed and re-allocated every step
        // (docs/benchmarks.md). Loaded weights get huge pages on their own (Tensor.FromStream);
        // MLNETLORA_HUGE_PAGES=1 turns libtorch's switch on for everything again.
        if (Environment.GetEnvironmentVariable("MLNETLORA_HUGE_PAGES") == "1") Interop.LibC.SetDefault("THP_MEM_ALLOC_ENABLE", "1");
        var (lib, info) = LibTorchLoader.Load(
            Environment.GetEnvironmentVariable(LibTorchLoader.EnvironmentVariable), AppContext.BaseDirectory);
        AotiShim.Bind(lib);
        ulong abi = AotiShim.abi_version();
        LibTorchLoader.CheckAbi(abi, info.Directory);
        dtypeCodes = new int[Enum.GetValues<DType>().Length];
        dtypeCodes[(int)DType.Float32] = AotiShim.dtype_float32();
        dtypeCodes[(int)DType.Float64] = AotiShim.dtype_float64();
        dtypeCodes[(int)DType.BFloat16] = AotiShim.dtype_bfloat16();
        dtypeCodes[(int)DType.Float16] = AotiShim.dtype_float16();
        dtypeCodes[(int)DType.Int64] = AotiShim.dtype_int64();
        dtypeCodes[(int)DType.Int32] = AotiShim.dtype_int32();
        dtypeCodes[(int)DType.Int16] = AotiShim.dtype_int16();
        dtypeCodes[(int)DType.Int8] = AotiShim.dtype_int8();
        dtypeCodes[(int)DType.UInt8] = AotiShim.dtype_uint8();
        dtypeCodes[(int)DType.Bool] = AotiShim.dtype_bool();
        cpuCode = AotiShim.device_type_cpu();
        cudaCode = AotiShim.device_type_cuda();
        return info with { AbiVersion = abi };
    }
}
