int mbert_core_anchor = 0;
