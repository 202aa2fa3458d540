export * from "@gim/tensor";
