using System.Runtime.InteropServices;
using System.Text;
using MLNetLora.LibTorch.Interop;

namespace MLNetLora.LibTorch;

/// <summary>
/// Calls any ATen operator through libtorch's boxed dispatcher (<c>torch_call_dispatcher</c>).
/// Arguments follow the schema in <c>aten-schemas</c> exactly; outputs come back in schema order.
/// Ops whose schema has a <c>Scalar</c> cannot go through here in libtorch 2.10: use the typed
/// methods on <see cref="Tensor"/> (which use a 0-dim tensor or a typed shim function instead).
/// </summary>
public static unsafe class Aten
{
    // The stable-ABI contract our stack encoding follows: libtorch 2.10.
    private const ulong ExtensionBuildVersion = 0x020A000000000000UL;

    /// <summary>Calls an op that returns one tensor.</summary>
    /// <exception cref="TorchException">libtorch rejected the call; the message names the op and its inputs.</exception>
    public static Tensor Call(string op, string overload, params ReadOnlySpan<AtenArg> args)
    {
        Span<ulong> stack = stackalloc ulong[Math.Max(args.Length, 1)];
        Invoke(op, overload, args, stack);
        return new Tensor((nint)stack[0]);
    }

    /// <summary>Calls an op that returns <paramref name="outputs"/> tensors (a tuple).</summary>
    /// <exception cref="TorchException">libtorch rejected the call.</exception>
    public static Tensor[] CallMany(string op, string overload, int outputs, params ReadOnlySpan<AtenArg> args)
    {
        Span<ulong> stack = stackalloc ulong[Math.Max(args.Length, outputs)];
        Invoke(op, overload, args, stack);
        var result = new Tensor[outputs];
        for (int i = 0; i < outputs; i++) result[i] = new Tensor((nint)stack[i]);
        return result;
    }

    /// <summary>Calls an op that returns a <c>Tensor[]</c> list.</summary>
    /// <exception cref="TorchException">libtorch rejected the call.</exception>
    public static Tensor[] CallList(string op, string overload, params ReadOnlySpan<AtenArg> args)
    {
        Span<ulong> stack = stackalloc ulong[Math.Max(args.Length, 1)];
        Invoke(op, overload, args, stack);
        nint list = (nint)stack[0];
        nuint n;
        Check(AotiShim.list_size(list, &n), "torch_list_size");
        var result = new Tensor[(int)n];
        for (nuint i = 0; i < n; i++)
        {
            ulong item;
            Check(AotiShim.list_get_item(list, i, &item), "torch_list_get_item");
            result[(int)i] = new Tensor((nint)item);
        }
        Check(AotiShim.delete_list(list), "torch_delete_list");
        return result;
    }

    /// <summary>Calls an op that returns nothing (or whose in-place outputs are not needed).</summary>
    /// <exception cref="TorchException">libtorch rejected the call.</exception>
    public static void CallVoid(string op, string overload, int outputs, params ReadOnlySpan<AtenArg> args)
    {
        foreach (var t in CallMany(op, overload, outputs, args)) t.Dispose();
    }

    private static void Invoke(string op, string overload, ReadOnlySpan<AtenArg> args, Span<ulong> stack)
    {
        Torch.EnsureLoaded();
        for (int i = 0; i < args.Length; i++) stack[i] = Encode(args[i]);
        int rc;
        byte* name = stackalloc byte[op.Length * 3 + 1];
        byte* ov = stackalloc byte[overload.Length * 3 + 1];
        WriteUtf8(op, name);
        WriteUtf8(overload, ov);
        fixed (ulong* s = stack)
            rc = AotiShim.call_dispatcher(name, ov, s, ExtensionBuildVersion);
        if (rc != 0) throw Failure(op + (overload.Length > 0 ? "." + overload : ""), args);
        foreach (var a in args) GC.KeepAlive(a.Ref); // the handles were read above; keep owners alive until the call returns
    }

    private static void WriteUtf8(string s, byte* dst)
    {
        int n = Encoding.UTF8.GetBytes(s, new Span<byte>(dst, s.Length * 3));
        dst[n] = 0;
    }

    private static ulong Encode(in AtenArg a)
    {
        ulong v = a.Kind switch
        {
            AtenArg.ArgKind.None => 0,
            AtenArg.ArgKind.Tensor => (ulong)((Tensor)a.Ref!).NewReference(),
            AtenArg.ArgKind.UndefinedTensor => (ulong)NewUndefined(),
            AtenArg.ArgKind.Int or AtenArg.ArgKind.Bool => (ulong)a.Int,
            AtenArg.ArgKind.Double => BitConverter.DoubleToUInt64Bits(a.Double),
            AtenArg.ArgKind.DType => (ulong)(uint)Torch.DTypeCode((DType)a.Int),
            AtenArg.ArgKind.Device => ((ulong)(byte)Torch.DeviceTypeCode((DeviceType)a.Int) << 32) | (uint)(int)a.Double,
            AtenArg.ArgKind.IntList => NewList((long[])a.Ref!),
            AtenArg.ArgKind.BoolList => NewList(((bool[])a.Ref!).Select(b => b ? 1L : 0L).ToArray()),
            AtenArg.ArgKind.TensorList => NewTensorList((Tensor[])a.Ref!),
            _ => throw new InvalidOperationException($"Unknown argument kind {a.Kind}."),
        };
        if (!a.IsOptional || a.Kind == AtenArg.ArgKind.None) return v;
        // A present optional is a pointer to a heap slot that libtorch frees with C++ delete after
        // reading it; glibc's operator delete is free(), so a malloc'd slot is what it expects.
        ulong* slot = (ulong*)NativeMemory.Alloc(8);
        *slot = v;
        return (ulong)slot;
    }

    private static nint NewUndefined()
    {
        nint h;
        Check(AotiShim.new_uninitialized_tensor(&h), "aoti_torch_new_uninitialized_tensor");
        return h;
    }

    private static ulong NewList(long[] values)
    {
        nint list;
        Check(AotiShim.new_list_reserve_size((nuint)values.Length, &list), "torch_new_list_reserve_size");
        foreach (long x in values) Check(AotiShim.list_push_back(list, (ulong)x), "torch_list_push_back");
        return (ulong)list; // the dispatcher takes ownership and deletes it
    }

    private static ulong NewTensorList(Tensor[] tensors)
    {
        nint list;
        Check(AotiShim.new_list_reserve_size((nuint)tensors.Length, &list), "torch_new_list_reserve_size");
        foreach (var t in tensors) Check(AotiShim.list_push_back(list, (ulong)t.NewReference()), "torch_list_push_back");
        return (ulong)list;
    }

    internal static void Check(int rc, string what)
    {
        if (rc != 0)
            throw new TorchException($"{what} failed in libtorch (its reason is printed on standard error).") { Operation = what };
    }

    internal static TorchException Failure(string op, ReadOnlySpan<AtenArg> args)
    {
        var sb = new StringBuilder($"{op} failed with arguments (");
        for (int i = 0; i < args.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(args[i].Describe());
        }
        sb.Append("). Check that shapes, dtypes and devices agree; libtorch printed its own reason on standard error.");
        return new TorchException(sb.ToString()) { Operation = op };
    }
}
