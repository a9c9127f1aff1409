# C18's bars (paper_repro/sinkfree.mk): (panel, label, value, replicate) rows from the
# analyses' metrics.tsv (columns layer, head, metric, value, found by name) of the models
# given in pairs, 1 layer then 3 layers, for each of `labels` in order (softmax first).
#   awk -f sinkfree_bars.awk -v rep=K -v labels='softmax A B' -v what=phen|loss 1L.tsv 3L.tsv ...
# what=phen: the 1-layer Attn<s> (non-trigger rows) and |Val<s>| / mean |Val|, the 3-layer
# largest Attn<s> of a later layer's head and |Res<s>| / mean |Res| after layer 0.
# what=loss: each model's final loss over softmax's.
BEGIN { FS = OFS = "\t"; nl = split(labels, lab, " ") }
FNR == 1 { n++; hdr = 0; delete col }
/^#/ { next }
!hdr { for (i = 1; i <= NF; i++) col[$i] = i; hdr = 1
       if (!("layer" in col) || !("head" in col) || !("metric" in col) || !("value" in col)) {
           print "sinkfree_bars.awk: " FILENAME ": no layer/head/metric/value columns" > "/dev/stderr"; bad = 1; exit 1 }
       next }
{ L = $col["layer"]; h = $col["head"]; m = $col["metric"]; v = $col["value"]; k = int((n + 1) / 2); three = n % 2 == 0
  if (L == -1 && m == "loss") loss[k, three] = v
  else if (!three && L == 0 && h == 0 && m == "attn_bos") a1[k] = v
  else if (!three && L == 0 && h == 0 && m == "val_ratio") val[k] = v
  else if (three && L == 0 && h == -1 && m == "resid_ratio") peak[k] = v
  else if (three && L >= 1 && h >= 0 && m == "attn_bos" && (!(k in a3) || v > a3[k])) a3[k] = v }
END {
    if (bad) exit 1
    if (n != 2 * nl) { print "sinkfree_bars.awk: " n " files for " nl " labels (two each)" > "/dev/stderr"; exit 1 }
    for (k = 1; k <= nl; k++) if (what == "loss") {
        print "final loss / softmax's: 1 layer", lab[k], loss[k, 0] / loss[1, 0], rep
    }
    for (k = 1; k <= nl; k++) if (what == "loss") print "final loss / softmax's: 3 layers", lab[k], loss[k, 1] / loss[1, 1], rep
    for (k = 1; k <= nl; k++) if (what != "loss") print "1 layer: Attn<s> (non-trigger rows)", lab[k], a1[k], rep
    for (k = 1; k <= nl; k++) if (what != "loss") print "1 layer: |Val<s>| / mean |Val|", lab[k], val[k], rep
    for (k = 1; k <= nl; k++) if (what != "loss") print "3 layers: largest later-layer Attn<s>", lab[k], a3[k], rep
    for (k = 1; k <= nl; k++) if (what != "loss") print "3 layers: |Res<s>| / mean after layer 0", lab[k], peak[k], rep
}
