; Two vCPUs. The BSP starts in 32-bit protected mode at 0x10000, enables its
; local APIC and sends INIT and STARTUP (vector 0x11) to APIC id 1. The AP,
; held in wait-for-SIPI by the in-kernel LAPIC, starts in real mode at
; 0x11000 (CS = 0x1100), prints "AP up", sets a flag at 0x12000 and halts in a
; loop. The BSP waits for the flag, prints "BSP saw AP" and powers off.
bits 32
org 0x10000
%include "defs.inc"
bsp:
    mov dword [LAPIC_SVR], 0x1ff                ; APIC software enable, spurious vector 0xff
    mov dword [LAPIC_ICR_HI], 1 << 24           ; destination: APIC id 1
    mov dword [LAPIC_ICR_LO], 0x00004500        ; INIT, assert
    mov ecx, 0x1000
.delay:
    dec ecx
    jnz .delay
    mov dword [LAPIC_ICR_HI], 1 << 24
    mov dword [LAPIC_ICR_LO], 0x00004611        ; STARTUP, vector 0x11 -> 0x11000
.wait:
    cmp byte [0x12000], 1
    jne .wait
    mov esi, bsp_msg
    mov dx, COM1
.next:
    mov al, [esi]
    inc esi
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    mov dx, PM1_CNT
    mov ax, S5_SLP_EN
    out dx, ax
.hang:
    jmp .hang
bsp_msg: db "BSP saw AP", 10, 0

    times 0x1000 - ($ - $$) db 0
bits 16
ap:                                             ; at 0x11000, CS = 0x1100, IP = 0
    mov ax, cs
    mov ds, ax
    mov si, ap_msg - ap
    mov dx, COM1
.next:
    lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    mov ax, 0x1200
    mov ds, ax
    mov byte [0], 1
.hang:
    jmp .hang
ap_msg: db "AP up", 10, 0
