"""The build cache of the custom ops: its key covers the project's headers a source
includes, so that an edited header gets a fresh build."""

from kerasnotes.ops import custom_op_build


def test_source_text_covers_the_local_headers_it_includes(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "kernel").mkdir()
    header = tmp_path / "shared" / "tiles.h"
    header.write_text('#include "more.h"\n// tiles v1\n')
    (tmp_path / "shared" / "more.h").write_text("// more\n")
    source = tmp_path / "kernel" / "op.cc"
    source.write_text('#include "../shared/tiles.h"\n#include "tensorflow/core/framework/op.h"\n'
                      '#include "../shared/tiles.h"\n// op\n')
    text = custom_op_build.source_text(source)
    assert "// op" in text and "// tiles v1" in text and "// more" in text
    assert text.count("// tiles v1") == 1  # each header once; TF's (not found here) skipped
    key = custom_op_build.cache_key("2.21.0", text, cpu="cpu")
    header.write_text('#include "more.h"\n// tiles v2\n')
    assert custom_op_build.cache_key("2.21.0", custom_op_build.source_text(source),
                                     cpu="cpu") != key


def test_the_convolution_kernels_include_the_shared_tile_header():
    from kerasnotes.ops.conv_weight_gradient_kernel import build

    text = custom_op_build.source_text(build.SOURCE)
    assert "KERASNOTES_OPS_AMX_TILES_H_" in text
