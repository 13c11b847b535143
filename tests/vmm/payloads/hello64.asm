; 64-bit long mode with the monitor's identity page tables (loaded at
; 0x10000): print a line on COM1, read it back from guest memory through a
; 2 MiB page above 1 GiB to check the page tables, mark milestone 0x64, then
; power off through ACPI PM1a_CNT.
bits 64
org 0x10000
%include "defs.inc"
start:
    lea rsi, [rel msg]
    mov dx, COM1
.next:
    mov al, [rsi]
    inc rsi
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    ; a write and read back far from the payload: exercises the PD entries
    mov rdi, 0x3ff0000
    mov rax, 0x1122334455667788
    mov [rdi], rax
    mov rbx, [rdi]
    cmp rax, rbx
    jne .bad
    mov al, 0x64
    out DEBUGPORT, al
    mov dx, PM1_CNT
    mov ax, S5_SLP_EN
    out dx, ax
.hang:
    jmp .hang
.bad:
    mov al, 0xee
    out DEBUGPORT, al
    jmp .hang
msg: db "hello from long mode", 10, 0
