using System.Runtime.InteropServices;

namespace MLNetLora.LibTorch.Interop;

/// <summary>
/// Mirrors the parts of libtorch's <c>torch/csrc/inductor/aoti_torch/c/shim.h</c> and
/// <c>torch/csrc/stable/c/shim.h</c> that the binding uses. Every entry returns an
/// <c>AOTITorchError</c> (0 = success). Pointers are resolved once by <see cref="LibTorchLoader"/>.
/// </summary>
/// <remarks>
/// Function pointers instead of <c>DllImport</c> because the library's path is only known at run
/// time (environment variable, NuGet runtime folder or a PyTorch install).
/// </remarks>
internal static unsafe class AotiShim
{
    // ---- versions, dtype and device codes -------------------------------------------------
    public static delegate* unmanaged<ulong> abi_version;
    public static delegate* unmanaged<int> dtype_float32, dtype_float64, dtype_bfloat16, dtype_float16,
        dtype_int64, dtype_int32, dtype_int16, dtype_int8, dtype_uint8, dtype_bool;
    public static delegate* unmanaged<int> device_type_cpu, device_type_cuda;

    // ---- tensor lifetime and metadata ------------------------------------------------------
    // (ndim, sizes*, strides*, dtype, device_type, device_index, out handle)
    public static delegate* unmanaged<long, long*, long*, int, int, int, nint*, int> empty_strided;
    // (data*, ndim, sizes*, strides*, storage_offset, dtype, device_type, device_index, out handle)
    public static delegate* unmanaged<void*, long, long*, long*, long, int, int, int, nint*, int> create_tensor_from_blob;
    public static delegate* unmanaged<nint, int> delete_tensor_object;
    public static delegate* unmanaged<nint, nint*, int> new_tensor_handle;
    public static delegate* unmanaged<nint*, int> new_uninitialized_tensor;
    public static delegate* unmanaged<nint, void**, int> get_data_ptr;
    public static delegate* unmanaged<nint, long*, int> get_dim;
    public static delegate* unmanaged<nint, long**, int> get_sizes;
    public static delegate* unmanaged<nint, long**, int> get_strides;
    public static delegate* unmanaged<nint, long*, int> get_numel;
    public static delegate* unmanaged<nint, long*, int> get_storage_offset;
    public static delegate* unmanaged<nint, int*, int> get_dtype;
    public static delegate* unmanaged<nint, int*, int> get_device_type;
    public static delegate* unmanaged<nint, int*, int> get_device_index;
    public static delegate* unmanaged<nint, int*, int> is_defined;
    public static delegate* unmanaged<nint, int*, int> is_contiguous;

    // ---- copies and ops that take a Scalar (the dispatcher cannot convert Scalars in 2.10) ---
    public static delegate* unmanaged<nint, nint, int> copy_;
    public static delegate* unmanaged<nint, nint, double, nint*, int> aten_subtract_Tensor;
    public static delegate* unmanaged<nint, double, int> aten_fill__Scalar;
    // (out, self, mat1, mat2, beta, alpha): beta and alpha are C floats in this (deprecated but stable) shim.
    public static delegate* unmanaged<nint, nint, nint, nint, float, float, int> addmm_out;

    // ---- grad mode --------------------------------------------------------------------------
    public static delegate* unmanaged<byte> grad_mode_is_enabled;
    public static delegate* unmanaged<byte, void> grad_mode_set_enabled;

    // ---- stable ABI: dispatcher and lists ----------------------------------------------------
    // (op name, overload name, stack*, extension build version)
    public static delegate* unmanaged<byte*, byte*, ulong*, ulong, int> call_dispatcher;
    public static delegate* unmanaged<nuint, nint*, int> new_list_reserve_size;
    public static delegate* unmanaged<nint, ulong, int> list_push_back;
    public static delegate* unmanaged<nint, nuint*, int> list_size;
    public static delegate* unmanaged<nint, nuint, ulong*, int> list_get_item;
    public static delegate* unmanaged<nint, int> delete_list;

    /// <summary>Resolves every pointer above from the already-loaded <c>libtorch_cpu</c>.</summary>
    internal static void Bind(nint lib)
    {
        nint P(string name) => NativeLibrary.GetExport(lib, name);

        abi_version = (delegate* unmanaged<ulong>)P("aoti_torch_abi_version");
        dtype_float32 = (delegate* unmanaged<int>)P("aoti_torch_dtype_float32");
        dtype_float64 = (delegate* unmanaged<int>)P("aoti_torch_dtype_float64");
        dtype_bfloat16 = (delegate* unmanaged<int>)P("aoti_torch_dtype_bfloat16");
        dtype_float16 = (delegate* unmanaged<int>)P("aoti_torch_dtype_float16");
        dtype_int64 = (delegate* unmanaged<int>)P("aoti_torch_dtype_int64");
        dtype_int32 = (delegate* unmanaged<int>)P("aoti_torch_dtype_int32");
        dtype_int16 = (delegate* unmanaged<int>)P("aoti_torch_dtype_int16");
        dtype_int8 = (delegate* unmanaged<int>)P("aoti_torch_dtype_int8");
        dtype_uint8 = (delegate* unmanaged<int>)P("aoti_torch_dtype_uint8");
        dtype_bool = (delegate* unmanaged<int>)P("aoti_torch_dtype_bool");
        device_type_cpu = (delegate* unmanaged<int>)P("aoti_torch_device_type_cpu");
        device_type_cuda = (delegate* unmanaged<int>)P("aoti_torch_device_type_cuda");

        empty_strided = (delegate* unmanaged<long, long*, long*, int, int, int, nint*, int>)P("aoti_torch_empty_strided");
        create_tensor_from_blob = (delegate* unmanaged<void*, long, long*, long*, long, int, int, int, nint*, int>)P("aoti_torch_create_tensor_from_blob");
        delete_tensor_object = (delegate* unmanaged<nint, int>)P("aoti_torch_delete_tensor_object");
        new_tensor_handle = (delegate* unmanaged<nint, nint*, int>)P("aoti_torch_new_tensor_handle");
        new_uninitialized_tensor = (delegate* unmanaged<nint*, int>)P("aoti_torch_new_uninitialized_tensor");
        get_data_ptr = (delegate* unmanaged<nint, void**, int>)P("aoti_torch_get_data_ptr");
        get_dim = (delegate* unmanaged<nint, long*, int>)P("aoti_torch_get_dim");
        get_sizes = (delegate* unmanaged<nint, long**, int>)P("aoti_torch_get_sizes");
        get_strides = (delegate* unmanaged<nint, long**, int>)P("aoti_torch_get_strides");
        get_numel = (delegate* unmanaged<nint, long*, int>)P("aoti_torch_get_numel");
        get_storage_offset = (delegate* unmanaged<nint, long*, int>)P("aoti_torch_get_storage_offset");
        get_dtype = (delegate* unmanaged<nint, int*, int>)P("aoti_torch_get_dtype");
        get_device_type = (delegate* unmanaged<nint, int*, int>)P("aoti_torch_get_device_type");
        get_device_index = (delegate* unmanaged<nint, int*, int>)P("aoti_torch_get_device_index");
        is_defined = (delegate* unmanaged<nint, int*, int>)P("aoti_torch_is_defined");
        is_contiguous = (delegate* unmanaged<nint, int*, int>)P("aoti_torch_is_contiguous");

        copy_ = (delegate* unmanaged<nint, nint, int>)P("aoti_torch_copy_");
        aten_subtract_Tensor = (delegate* unmanaged<nint, nint, double, nint*, int>)P("aoti_torch_aten_subtract_Tensor");
        aten_fill__Scalar = (delegate* unmanaged<nint, double, int>)P("aoti_torch_aten_fill__Scalar");
        addmm_out = (delegate* unmanaged<nint, nint, nint, nint, float, float, int>)P("aoti_torch_addmm_out");

        grad_mode_is_enabled = (delegate* unmanaged<byte>)P("aoti_torch_grad_mode_is_enabled");
        grad_mode_set_enabled = (delegate* unmanaged<byte, void>)P("aoti_torch_grad_mode_set_enabled");

        call_dispatcher = (delegate* unmanaged<byte*, byte*, ulong*, ulong, int>)P("torch_call_dispatcher");
        new_list_reserve_size = (delegate* unmanaged<nuint, nint*, int>)P("torch_new_list_reserve_size");
        list_push_back = (delegate* unmanaged<nint, ulong, int>)P("torch_list_push_back");
        list_size = (delegate* unmanaged<nint, nuint*, int>)P("torch_list_size");
        list_get_item = (delegate* unmanaged<nint, nuint, ulong*, int>)P("torch_list_get_item");
        delete_list = (delegate* unmanaged<nint, int>)P("torch_delete_list");
    }
}
