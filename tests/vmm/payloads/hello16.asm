; Real mode (CS = DS = 0x1000, loaded at 0x10000): print a line on COM1, mark
; milestone 0x16 on the debug port, then power off through ACPI PM1a_CNT.
bits 16
%include "defs.inc"
start:
    mov ax, cs
    mov ds, ax
    mov si, msg
    mov dx, COM1
.next:
    lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    mov al, 0x16
    out DEBUGPORT, al
    mov dx, PM1_CNT
    mov ax, S5_SLP_EN
    out dx, ax
.hang:
    jmp .hang
msg: db "hello from real mode", 10, 0
